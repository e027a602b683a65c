/**
 * The architecture as a test: each folder of `src/` imports only the layers DESIGN.md allows, and
 * no chain of runtime imports comes back to where it started.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** What each layer may import besides itself (DESIGN.md, "Layers"). */
const ALLOWED: Record<string, readonly string[]> = {
  common: [],
  models: ['common'],
  proxy: ['common', 'models'],
  queue: ['common', 'models', 'proxy'],
  methods: ['common', 'models', 'proxy'],
  'task-server': ['common', 'models', 'queue', 'methods', 'proxy'],
  thinker: ['common', 'models', 'queue'],
  monitor: ['common', 'models'],
};

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function edges(): Edge[] {
  return sourceFiles(SRC).flatMap((file) => {
    const text = readFileSync(join(SRC, file), 'utf8');
    const target = (spec: string) => normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts');
    const found: Edge[] = [];
    for (const match of text.matchAll(IMPORT)) found.push({ from: file, to: target(match[3]!), typeOnly: match[2] !== undefined });
    // A dynamic import is lazy: it obeys the layers but cannot form a load-time cycle.
    for (const match of text.matchAll(DYNAMIC)) found.push({ from: file, to: target(match[1]!), typeOnly: true });
    return found;
  });
}

const layerOf = (file: string): string | undefined => (file.includes('/') ? file.split('/')[0] : undefined);

describe('layers', () => {
  it('every import points down the layer table', () => {
    const wrong = edges().filter(({ from, to }) => {
      const [a, b] = [layerOf(from), layerOf(to)];
      if (a === undefined || b === undefined || a === b || !(a in ALLOWED)) return false; // entry files, demo and cli take everything
      if (a === 'monitor' && (b === 'thinker' || b === 'task-server' || b === 'queue')) return false; // structural types only, checked below
      return !ALLOWED[a]!.includes(b);
    });
    assert.deepEqual(wrong.map((e) => `${e.from} → ${e.to}`), []);
  });

  it('monitor sees the thinker, queues and task server only through types', () => {
    const wrong = edges().filter((e) => layerOf(e.from) === 'monitor' && ['thinker', 'task-server', 'queue'].includes(layerOf(e.to) ?? '') && !e.typeOnly);
    assert.deepEqual(wrong.map((e) => `${e.from} → ${e.to}`), []);
  });

  it('no runtime import cycle', () => {
    const graph = new Map<string, string[]>();
    for (const e of edges()) if (!e.typeOnly) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    assert.deepEqual(cycles, []);
  });
});
