import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The captured Python Colmena messages: one Redis list element per file, byte for byte. */
export const VECTOR_DIR = new URL('../fixtures/colmena-wire/', import.meta.url);

export function vectorNames(): string[] {
  return readdirSync(fileURLToPath(VECTOR_DIR))
    .filter((name) => name.endsWith('.raw'))
    .sort();
}

/** One vector's exact text (the files are ASCII; UTF-8 decoding is lossless). */
export function readVector(name: string): string {
  return readFileSync(new URL(name.endsWith('.raw') ? name : `${name}.raw`, VECTOR_DIR), 'utf8');
}

/** Python result vectors are a bare body; request vectors are `<topic>{body}`. */
export function requestBody(name: string): { prefix: string; body: string } {
  const text = readVector(name);
  const brace = text.indexOf('{');
  if (brace < 0) throw new Error(`${name} has no body`);
  return { prefix: text.slice(0, brace), body: text.slice(brace) };
}
