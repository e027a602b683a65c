/**
 * Hostile and broken request elements from a fixed seed, pushed at a task server in a process of
 * its own, with a heartbeat task after every batch. Shared by the wire fuzz test (a few thousand
 * elements) and `npm run bench -- fuzz` (10,000 and more).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { seededRandom } from '../../src/common/random.js';
import { parseLenientJson } from '../../src/models/lenient-json.js';
import { REFERENCE_PREFIX } from '../../src/models/value-proxy.js';

export interface FuzzElement {
  element: string;
  /** The task id a server can read, when the element is a whole JSON body with a short string id. */
  readableId: string | null;
  kind: string;
}

export interface FuzzReport {
  elements: number;
  readable: number;
  answered: number;
  /** Readable ids with no answer by the end. */
  unanswered: string[];
  /** Ids answered more than once. */
  duplicates: string[];
  /** The server process ended before the kill element. */
  serverStops: number;
  /** Heartbeats not answered within the wait. */
  hangs: number;
  rssStartKiB: number;
  rssPeakKiB: number;
  rssEndKiB: number;
  killExitCode: number | null;
  byKind: Record<string, { sent: number; unanswered: number }>;
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** Stands for a task_info nested 5,000 deep, spliced in as text (JSON.stringify's stack would not hold it). */
const DEEP_MARKER = '__deep_5000__';
const DEEP_TEXT = `${'{"d": '.repeat(5000)}1${'}'.repeat(5000)}`;

function deep(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { d: value };
  return value;
}

const ref = (fields: Record<string, unknown>): string => REFERENCE_PREFIX + JSON.stringify(fields);

/** Field values a hostile or broken sender might put in a request. */
const MUTATIONS: Record<string, readonly unknown[]> = {
  method: ['add', 'echo', 'nope', '', 123, null, 'x'.repeat(300), '__proto__', 'constructor'],
  inputs: [
    [['1', '2'], {}],
    [[1, '2'], {}],
    [['"a"'], {}],
    [['{bad'], {}],
    [[], { b: '1' }],
    'not-an-array',
    [[ref({ store: { kind: 'file', dir: '/etc' }, key: 'passwd', bytes: 1, binary: false })], {}],
    [[ref({ store: 'file:/etc', key: 'passwd', bytes: 1, binary: false })], {}],
    [[['nested']], {}],
    [[null], {}],
    [['1', '2', '3', '4'], { c: '{"x": NaN}' }],
    [[`"${'y'.repeat(100_000)}"`], {}],
  ],
  timeout_ms: [1e21, -1, 'x', 0.5, 100, null, 2 ** 31],
  max_retries: [1e9, -3, 2.5, '1', 1, null],
  retries: [1e9, -1, 0],
  task_info: [DEEP_MARKER, { a: 'x' }, 'str', [], deep(100), { ['k'.repeat(1000)]: 1 }],
  resources: [{ node_count: 1e12 }, { cpu_processes: -1 }, 'x', { cpu_threads: 2 }],
  serialization_method: ['pickle', 'msgpack', 'yaml', 'json'],
  value_proxy: [
    { store: { kind: 'file', dir: '/tmp/colmena-fuzz-written' }, threshold_bytes: 0 },
    { store: 'nope', threshold_bytes: 0 },
    { store: 'x', threshold_bytes: -1 },
    'x',
  ],
  keep_inputs: ['yes', false, true],
  topic: ['default', 'other', undefined, null, 'unknown-topic'],
  success: [null, true, 'x'],
  complete: [null, false],
  extra_field: [1, { nested: [1, 2] }],
};

/** The seeded stream of elements; ids are unique so answers can be counted per element. */
export function* fuzzElements(seed: number, count: number): Generator<FuzzElement> {
  const random = seededRandom(seed);
  for (let n = 0; n < count; n++) {
    const id = `fz-${seed}-${n}`;
    const roll = random();
    if (roll < 0.6) {
      const body: Record<string, unknown> = { task_id: id, method: pick(random, ['add', 'echo']), inputs: [['1', '2'], {}] };
      const fields = Object.keys(MUTATIONS);
      const changes = 1 + Math.floor(random() * 3);
      for (let i = 0; i < changes; i++) {
        const field = pick(random, fields);
        const value = pick(random, MUTATIONS[field]!);
        if (value === undefined) delete body[field];
        else body[field] = value;
      }
      let text = JSON.stringify(body).replace(`"${DEEP_MARKER}"`, DEEP_TEXT);
      // Python writes bare NaN for unset floats: so may anyone.
      if (random() < 0.2) text = text.replace(/^\{/, '{"timestamp": {"created": NaN, "input_received": Infinity}, ');
      yield { element: `${pick(random, ['default', 'other', 'whatever'])}${text}`, readableId: id, kind: 'request' };
    } else if (roll < 0.75) {
      const text = `default${JSON.stringify({ task_id: id, method: 'add', success: null, inputs: [['1', '2'], {}] })}`;
      yield { element: text.slice(0, 1 + Math.floor(random() * (text.length - 2))), readableId: null, kind: 'truncated' };
    } else if (roll < 0.8) {
      yield { element: `default{"task_id": "${id}", "method": "add", "success": null`, readableId: null, kind: 'ends-in-null' };
    } else if (roll < 0.95) {
      const garbage = [
        '',
        '{',
        'default',
        '{}',
        '[]',
        'default{}',
        'default{"task_id": 5}',
        'defaultnull ',
        ' defaultnull',
        'default{"task_id": null}',
        'default[1, 2]',
        'default{"task_id": "a", "task_id": "b"}',
        Array.from({ length: 64 }, () => String.fromCharCode(Math.floor(random() * 256))).join(''),
      ];
      let element = pick(random, garbage);
      // Exactly `<topic>null` is the kill signal: random bytes must not spell one by chance.
      if (!element.includes('{') && element.endsWith('null')) element += 'x';
      yield { element, readableId: null, kind: 'garbage' };
    } else {
      const long = `${id}-${'i'.repeat(1 + Math.floor(random() * 1_000_000))}`;
      yield { element: `default${JSON.stringify({ task_id: long, method: 'add', inputs: [['1', '2'], {}] })}`, readableId: null, kind: 'long-id' };
    }
  }
}

function rssKiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

export async function runWireFuzz(options: { url: string; prefix: string; seed: number; count: number; batch?: number; waitMs?: number }): Promise<FuzzReport> {
  const { url, prefix, seed, count, batch = 200, waitMs = 30_000 } = options;
  const redis = new Redis(url);
  const server: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./fuzz-server.ts', import.meta.url)), url, prefix],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  let exited = false;
  let exitCode: number | null = null;
  const exitedPromise = new Promise<void>((resolve) => server.once('exit', (code) => ((exited = true), (exitCode = code), resolve())));
  const answers = new Map<string, number>();
  const report: FuzzReport = {
    elements: 0, readable: 0, answered: 0, unanswered: [], duplicates: [], serverStops: 0, hangs: 0,
    rssStartKiB: 0, rssPeakKiB: 0, rssEndKiB: 0, killExitCode: null, byKind: {},
  };
  const drain = async (): Promise<void> => {
    // Every result list, including those of topics the fuzz made up.
    const lists = await redis.keys(`${prefix}_*_result`);
    for (const list of lists) {
      for (;;) {
        const items = await redis.lpop(list, 1000);
        if (!items || items.length === 0) break;
        for (const item of items) {
          let id: string;
          try {
            id = String((parseLenientJson(item) as { task_id?: unknown }).task_id);
          } catch {
            id = '(unparseable answer)';
          }
          answers.set(id, (answers.get(id) ?? 0) + 1);
        }
      }
    }
  };
  const waitFor = async (ids: readonly string[], ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    for (;;) {
      await drain();
      if (ids.every((id) => answers.has(id))) return true;
      if (Date.now() > deadline || exited) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  let heartbeats = 0;
  const heartbeat = async (): Promise<void> => {
    const id = `heartbeat-${heartbeats++}`;
    await redis.rpush(`${prefix}_requests`, `default${JSON.stringify({ task_id: id, method: 'add', inputs: [['1', '2'], {}] })}`);
    if (!(await waitFor([id], waitMs))) report.hangs++;
  };
  try {
    await heartbeat();
    report.rssStartKiB = rssKiB(server.pid!);
    const readable: { id: string; kind: string }[] = [];
    let pending: string[] = [];
    for (const item of fuzzElements(seed, count)) {
      report.elements++;
      (report.byKind[item.kind] ??= { sent: 0, unanswered: 0 }).sent++;
      await redis.rpush(`${prefix}_requests`, item.element);
      if (item.readableId) {
        readable.push({ id: item.readableId, kind: item.kind });
        pending.push(item.readableId);
      }
      if (report.elements % batch === 0) {
        await heartbeat();
        await waitFor(pending, 2000);
        pending = [];
        report.rssPeakKiB = Math.max(report.rssPeakKiB, rssKiB(server.pid!));
        if (exited) break;
      }
    }
    await heartbeat();
    await waitFor(readable.map((r) => r.id), waitMs);
    report.readable = readable.length;
    for (const { id, kind } of readable) {
      if (!answers.has(id)) {
        report.unanswered.push(id);
        report.byKind[kind]!.unanswered++;
      }
    }
    report.answered = readable.length - report.unanswered.length;
    // Only ids the fuzz made unique count (garbage elements reuse a few fixed ids on purpose).
    report.duplicates = [...answers].filter(([id, n]) => n > 1 && /^(fz-|heartbeat-)/.test(id)).map(([id]) => id);
    // Settled: the heap may take a moment to shrink after the last large element.
    const deadline = Date.now() + 10_000;
    do {
      report.rssEndKiB = rssKiB(server.pid!);
      if (report.rssEndKiB <= 2 * report.rssStartKiB) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    } while (Date.now() < deadline && !exited);
    report.rssPeakKiB = Math.max(report.rssPeakKiB, report.rssEndKiB);
    if (exited) report.serverStops++;
    else {
      await redis.rpush(`${prefix}_requests`, 'defaultnull');
      await Promise.race([exitedPromise, new Promise((resolve) => setTimeout(resolve, waitMs))]);
      report.killExitCode = exitCode;
    }
  } finally {
    if (!exited) server.kill('SIGKILL');
    const keys = await redis.keys(`${prefix}_*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
  return report;
}
