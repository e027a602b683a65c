/**
 * Python Colmena's JSON writes unset floats as bare `NaN` (and `Infinity`), which strict JSON
 * readers refuse. A run log must stay readable by any JSON reader, so the Colmena messages it
 * keeps have those tokens turned into `null`, outside strings only (a user's string "NaN" stays).
 */
const NON_FINITE = /NaN|Infinity/;

export function nonFiniteToNull(json: string): string {
  if (!NON_FINITE.test(json)) return json;
  let out = '';
  let copied = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 34 /* " */) {
      i = endOfString(json, i);
    } else if (c === 78 /* N */ && json.startsWith('NaN', i)) {
      out += `${json.slice(copied, i)}null`;
      copied = i + 3;
      i += 2;
    } else if (c === 73 /* I */ && json.startsWith('Infinity', i)) {
      const start = json.charCodeAt(i - 1) === 45 /* - */ ? i - 1 : i;
      out += `${json.slice(copied, start)}null`;
      copied = i + 8;
      i += 7;
    }
  }
  return out + json.slice(copied);
}

/** Index of the quote that closes the string opening at `open`, skipping escaped quotes. */
function endOfString(json: string, open: number): number {
  let at = open;
  for (;;) {
    at = json.indexOf('"', at + 1);
    if (at < 0) return json.length;
    let backslashes = 0;
    while (json.charCodeAt(at - 1 - backslashes) === 92) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}
