/**
 * JSON parsing that also accepts the bare tokens `NaN`, `Infinity` and `-Infinity`, which Python's
 * `json.dumps` writes for non-finite floats (Colmena writes `NaN` for every unset timestamp).
 */

// A string literal (skipped as is) or a non-finite token outside strings (captured).
const NON_FINITE_TOKEN = /"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)/g;
// A placeholder no valid JSON text can produce from a string literal: it is only ever created
// by the rewrite below, and the reviver turns it back into a number.
const MARKER = '\u0000colmena-non-finite:';

export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!/NaN|Infinity/.test(text)) throw error;
  }
  let found = false;
  const rewritten = text.replace(NON_FINITE_TOKEN, (match, token: string | undefined) => {
    if (token === undefined) return match;
    found = true;
    return JSON.stringify(MARKER + token);
  });
  if (!found) return JSON.parse(text);
  return JSON.parse(rewritten, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(MARKER) ? Number(value.slice(MARKER.length)) : value,
  );
}
