/**
 * JSON parsing that also accepts the bare tokens `NaN`, `Infinity` and `-Infinity`, which Python's
 * `json.dumps` writes for non-finite floats (Colmena writes `NaN` for every unset timestamp, so
 * nearly every message from Python has them: this is on the hot path).
 */

import { randomUUID } from 'node:crypto';

/** Positions of non-finite tokens outside string literals. */
interface TokenScan {
  nanAt: number[];
  infinityAt: number[];
}

/**
 * Jump from string literal to string literal with indexOf, collecting tokens found between them.
 * The next `NaN`, `Infinity` and quote positions are remembered and searched again only once the
 * scan has passed them: searching from scratch after every string made a message with a large
 * value cost a full pass per field before it.
 */
function scanTokens(text: string): TokenScan {
  const scan: TokenScan = { nanAt: [], infinityAt: [] };
  let nextNaN = text.indexOf('NaN');
  let nextInf = text.indexOf('Infinity');
  let nextQuote = text.indexOf('"');
  let i = 0;
  for (;;) {
    if (nextNaN >= 0 && nextNaN < i) nextNaN = text.indexOf('NaN', i);
    if (nextInf >= 0 && nextInf < i) nextInf = text.indexOf('Infinity', i);
    if (nextQuote >= 0 && nextQuote < i) nextQuote = text.indexOf('"', i);
    const token = nextNaN < 0 ? nextInf : nextInf < 0 ? nextNaN : Math.min(nextNaN, nextInf);
    if (token < 0) return scan;
    const quote = nextQuote;
    if (quote < 0 || token < quote) {
      if (token === nextNaN) {
        scan.nanAt.push(token);
        i = token + 3;
      } else {
        scan.infinityAt.push(text[token - 1] === '-' ? token - 1 : token);
        i = token + 8;
      }
      continue;
    }
    // Skip the string literal that starts at `quote`.
    let end = quote + 1;
    for (;;) {
      end = text.indexOf('"', end);
      if (end < 0) return scan; // unterminated: JSON.parse will report it
      let backslashes = 0;
      while (text[end - 1 - backslashes] === '\\') backslashes++;
      if (backslashes % 2 === 0) break;
      end++;
    }
    i = end + 1;
  }
}

// `1e999` is valid JSON and parses to Infinity. Infinity tokens take the slow path, so after
// parsing each stand-in is one Infinity; if there are more, a literal overflowed (`1e400`) and the
// two cannot be told apart, so the slow path decides.
const NAN_STANDIN = '1e999';

export function parseLenientJson(text: string): unknown {
  const scan = scanTokens(text);
  if (scan.nanAt.length === 0 && scan.infinityAt.length === 0) return JSON.parse(text);
  if (scan.infinityAt.length === 0) {
    const parts: string[] = [];
    let last = 0;
    for (const at of scan.nanAt) {
      parts.push(text.slice(last, at), NAN_STANDIN);
      last = at + 3;
    }
    parts.push(text.slice(last));
    const parsed: unknown = JSON.parse(parts.join(''));
    if (parsed === Infinity) return NaN; // the whole text was `NaN`
    if (restoreNaN(parsed) === scan.nanAt.length) return parsed;
  }
  // Rare: real infinities (or a literal that may overflow). Rewrite every token to a marker string
  // and revive it. The marker is random per call, so no string literal in the text can pose as one.
  const marker = `\u0000colmena-non-finite-${randomUUID()}:`;
  const tokens = [...scan.nanAt.map((at) => [at, 'NaN'] as const), ...scan.infinityAt.map((at) => [at, text[at] === '-' ? '-Infinity' : 'Infinity'] as const)];
  tokens.sort((a, b) => a[0] - b[0]);
  const parts: string[] = [];
  let last = 0;
  for (const [at, token] of tokens) {
    parts.push(text.slice(last, at), JSON.stringify(marker + token));
    last = at + token.length;
  }
  parts.push(text.slice(last));
  return JSON.parse(parts.join(''), (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(marker) ? Number(value.slice(marker.length)) : value,
  );
}

/** Turn every Infinity (stand-ins, and overflowed literals if any) into NaN; returns how many. */
function restoreNaN(node: unknown): number {
  let count = 0;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      if (node[i] === Infinity) {
        node[i] = NaN;
        count++;
      } else if (typeof node[i] === 'object' && node[i] !== null) count += restoreNaN(node[i]);
    }
    return count;
  }
  if (typeof node !== 'object' || node === null) return 0;
  const record = node as Record<string, unknown>;
  for (const key in record) {
    const value = record[key];
    if (value === Infinity) {
      record[key] = NaN;
      count++;
    } else if (typeof value === 'object' && value !== null) count += restoreNaN(value);
  }
  return count;
}
