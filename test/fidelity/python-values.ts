/**
 * Random Python values for the fuzzed echo test: what Python's `json.dumps` writes for each, and
 * what Python reads back from our echo of it (see python-view.ts), by Python's rules: everything
 * comes back as sent except (1) integral floats, which come back as ints written as JavaScript
 * writes the number (`3.0` → `3`, `2.6e+16` → `26000000000000000`; from 1e21 in exponent form,
 * so floats again), and (2) dict keys that are array indices (`"0"`, `"7"`), which a JavaScript
 * object lists first, in numeric order (Python's `==` on dicts ignores order).
 */
import { seededRandom } from '../../src/common/random.js';
import { pythonString } from '../../src/models/colmena-json.js';
import { pythonFloat } from '../../src/models/python-json.js';

export interface PythonCase {
  /** `json.dumps(value)` as Python writes it. */
  sent: string;
  /** `pythonView` of what Python reads back from our echo. */
  expected: string;
}

const SPECIAL = [NaN, Infinity, -Infinity, -0, 0, 0.1, 1e-7, 5e-324, 1.7976931348623157e308, 1e22];
const TEXTS = ['', 'café', 'NaN', '-0.0', 'Infinity', '😀 ünï', 'a"b\\c', '\n\t', '日本'];

export function pythonCases(seed: number, count: number): PythonCase[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const float = (): number => {
    const r = random();
    if (r < 0.3) return pick(SPECIAL);
    if (r < 0.45) return Math.round((random() - 0.5) * 1000); // an integral float: 3.0
    return (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
  };
  const make = (depth: number): PythonCase => {
    const r = random();
    if (depth > 2 || r < 0.5) {
      const leaf = random();
      if (leaf < 0.45) {
        const x = float();
        const sent = pythonFloat(x);
        return { sent, expected: pythonView1(x) };
      }
      if (leaf < 0.6) {
        const n = Math.round((random() - 0.5) * 2 ** 40);
        return { sent: String(n), expected: String(n) };
      }
      if (leaf < 0.75) {
        const text = pick(TEXTS);
        return { sent: pythonString(text), expected: JSON.stringify(text) };
      }
      if (leaf < 0.85) return { sent: 'null', expected: 'None' };
      return random() < 0.5 ? { sent: 'true', expected: 'True' } : { sent: 'false', expected: 'False' };
    }
    const items = Array.from({ length: Math.floor(random() * 4) }, () => make(depth + 1));
    if (r < 0.75) return { sent: `[${items.map((i) => i.sent).join(', ')}]`, expected: `[${items.map((i) => i.expected).join(', ')}]` };
    const keys = items.map((_, i) => `${pick(TEXTS)}${i}`);
    const entries = items.map((item, i) => [keys[i]!, item.expected] as const);
    const isIndex = (key: string): boolean => /^(0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1;
    const ordered = [...entries.filter(([key]) => isIndex(key)).sort((a, b) => Number(a[0]) - Number(b[0])), ...entries.filter(([key]) => !isIndex(key))];
    return {
      sent: `{${items.map((item, i) => `${pythonString(keys[i]!)}: ${item.sent}`).join(', ')}}`,
      expected: `{${ordered.map(([key, view]) => `${JSON.stringify(key)}: ${view}`).join(', ')}}`,
    };
  };
  return Array.from({ length: count }, () => make(0));
}

/** pythonView's spelling of a float that keeps its type. */
function pythonView1(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (Number.isInteger(x) && !Object.is(x, -0)) {
    // Our echo writes it as JavaScript does: digits below 1e21 (an int to Python), exponent form from there.
    return Math.abs(x) >= 1e21 ? pythonFloat(x) : String(x);
  }
  return pythonFloat(x);
}
