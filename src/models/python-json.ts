/**
 * JSON text that Python's `json.loads` reads back as the same numbers: `NaN`, `Infinity` and
 * `-Infinity` as Python's `json.dumps` writes them (bare tokens, which `JSON.stringify` would turn
 * into `null`), and `-0` as `-0.0` (`JSON.stringify` writes `0`; Python reads `-0` as the int 0).
 * {@link parseLenientJson} reads all of them back.
 *
 * Integral floats: JavaScript has one number type, so Python's `2.0` arrives here as `2` and goes
 * back as `2` (an int in Python). Values that must stay floats in Python should be converted there
 * (`float(x)`); everything non-integral, and `-0.0`, round-trips exactly.
 */
import { randomUUID } from 'node:crypto';

// A marker per process: JSON.stringify escapes U+0000, so it cannot come from a string by chance
// unless it holds this exact random text.
const MARKER = `\u0000py-number-${randomUUID()}:`;
const MARKED = new RegExp(`"${JSON.stringify(MARKER).slice(1, -1).replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(NaN|-?Infinity|-0\\.0)"`, 'g');

/** Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
export function pythonFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exponentText] = x.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  const fixed = x.toFixed(Math.max(0, (mantissa.split('.')[1]?.length ?? 0) - exponent));
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}

function isSpecial(value: number): boolean {
  return !Number.isFinite(value) || (value === 0 && 1 / value < 0);
}

/** Does any number in `value` need a token JSON.stringify cannot write? */
function hasSpecialNumbers(value: unknown, depth: number): boolean {
  if (typeof value === 'number') return isSpecial(value);
  if (typeof value !== 'object' || value === null || depth > 512) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (hasSpecialNumbers(item, depth + 1)) return true;
    return false;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  for (const key in value) if (hasSpecialNumbers((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

/**
 * `JSON.stringify(value)`, but with Python's tokens for non-finite numbers and `-0`. Throws what
 * JSON.stringify throws (cycles, BigInts); returns `undefined` where it does. `special`: whether
 * the value holds such a number, when the caller already knows (checkEncodable finds out).
 */
export function stringifyForPython(value: unknown, special?: boolean): string | undefined {
  const text = JSON.stringify(value);
  if (text === undefined || !(special ?? hasSpecialNumbers(value, 0))) return text;
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'number' && isSpecial(item) ? MARKER + pythonFloat(item) : item)).replace(
    MARKED,
    (_match, token: string) => token,
  );
}
