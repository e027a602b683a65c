/** Command-line options of the examples: every option is a number; a bad one stops with a clear message. */
import { parseArgs } from 'node:util';

/**
 * Parse `--name value` options whose defaults are given as numbers; exits with a message naming
 * the option when a value is not a non-negative number.
 */
export function numericArgs<const D extends Record<string, number>>(defaults: D): { [K in keyof D]: number } {
  const options = Object.fromEntries(Object.entries(defaults).map(([name, value]) => [name, { type: 'string' as const, default: String(value) }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ options }).values;
  } catch (error) {
    fail(`${(error as Error).message}. Options: ${Object.keys(defaults).map((name) => `--${name}`).join(', ')}`);
  }
  const parsed: Record<string, number> = {};
  for (const name of Object.keys(defaults)) {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < 0) fail(`--${name} must be a non-negative number, got '${String(values[name])}'`);
    parsed[name] = value;
  }
  return parsed as { [K in keyof D]: number };
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
