/** Small helpers shared by the benchmarks. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const index = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[index]!;
}

export function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Keep `window` operations in flight until `total` are done; returns operations per second. */
export async function closedLoopThroughput(total: number, window: number, send: () => Promise<void>, receive: () => Promise<void>): Promise<number> {
  const started = performance.now();
  let sent = 0;
  const first = Math.min(window, total);
  for (; sent < first; sent++) await send();
  for (let done = 0; done < total; done++) {
    await receive();
    if (sent < total) {
      await send();
      sent++;
    }
  }
  return total / ((performance.now() - started) / 1000);
}

/** Latencies in milliseconds of `count` operations run one at a time, sorted. */
export async function sequentialLatencies(count: number, roundTrip: () => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await roundTrip();
    latencies.push(performance.now() - started);
  }
  return latencies.sort((a, b) => a - b);
}

export function flag(argv: readonly string[], name: string): boolean {
  return argv.includes(`--${name}`);
}

export function option(argv: readonly string[], name: string, fallback: number): number {
  const index = argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(argv[index + 1]);
  if (!Number.isFinite(value)) throw new Error(`--${name} needs a number`);
  return value;
}

/** The last line on stdout: one JSON object. */
export function report(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** A comma-separated option, e.g. `--sizes 1,10`; `fallback` when absent. */
export function listOption(argv: readonly string[], name: string, fallback: readonly string[]): string[] {
  const index = argv.indexOf(`--${name}`);
  if (index < 0) return [...fallback];
  const value = argv[index + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a comma-separated list`);
  return value.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
}

/** Like {@link listOption}, each item a number. */
export function numberListOption(argv: readonly string[], name: string, fallback: readonly number[]): number[] {
  return listOption(argv, name, fallback.map(String)).map((item) => {
    const value = Number(item);
    if (!Number.isFinite(value)) throw new Error(`--${name} needs numbers, got '${item}'`);
    return value;
  });
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** Milliseconds `fn` takes, median of `count` runs. */
export function medianMs(count: number, fn: () => unknown): number {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    fn();
    times.push(performance.now() - started);
  }
  return median(times);
}

/** The 1-minute load average and the CPU count, to judge how busy the machine was. */
export async function machineLoad(): Promise<{ load1: number; cpus: number }> {
  const { loadavg, availableParallelism } = await import('node:os');
  return { load1: round(loadavg()[0]!, 2), cpus: availableParallelism() };
}

/** Print rows as an aligned text table (to stdout, before the JSON lines). */
export function printTable(rows: readonly Record<string, unknown>[], columns?: string[]): void {
  if (rows.length === 0) return;
  const keys = columns ?? [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const text = (value: unknown): string => (value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value));
  const widths = keys.map((key) => Math.max(key.length, ...rows.map((row) => text(row[key]).length)));
  // Numbers right-aligned, text left-aligned.
  const numeric = keys.map((key) => rows.every((row) => row[key] === undefined || row[key] === '' || typeof row[key] === 'number'));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  console.log(line(keys));
  for (const row of rows) console.log(line(keys.map((key) => text(row[key]))));
}

/** One row of the `npm run bench` summary: a benchmark's key figures beside its reference. */
export interface SummaryRow {
  benchmark: string;
  case: string;
  result: string;
  'raw limit / anchor': string;
  target: string;
}

const pct = (value: unknown): string => (typeof value === 'number' ? `${Math.round(value * 100)} %` : '');
const verdict = (met: unknown): string => (met === true ? ' ✓' : met === false ? ' ✗' : '');

/** Key figures of the JSON lines one benchmark printed, as summary rows. */
export function summaryRows(lines: readonly Record<string, unknown>[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const payloads = new Map<string, Record<string, unknown>[]>();
  for (const l of lines) {
    const bench = String(l.bench);
    switch (bench) {
      case 'local':
      case 'redis':
      case 'distributed':
        rows.push({
          benchmark: bench,
          case: `${l.tasks} no-op tasks, window ${l.window}`,
          result: `${l.tasks_per_s} tasks/s, p50 ${l.p50_ms} ms`,
          'raw limit / anchor': `bare ${l.bare_tasks_per_s} tasks/s, p50 ${l.bare_p50_ms} ms (×${l.throughput_ratio} throughput)`,
          target: '',
        });
        break;
      case 'stream':
        rows.push({
          benchmark: bench,
          case: `yield → thinker lag, a yield every ${l.interval_ms} ms`,
          result: `p50 inline ${l.local_inline_p50_ms} / threads ${l.local_threads_p50_ms} / Redis ${l.redis_p50_ms} ms`,
          'raw limit / anchor': `for-await ${l.raw_local_p50_ms} ms, bare RPUSH/BLPOP ${l.raw_redis_p50_ms} ms`,
          target: `p50 ≤ 1 ms local, ≤ 3 ms Redis${verdict(l.meets_target)}`,
        });
        break;
      case 'thinker':
        rows.push({ benchmark: bench, case: 'thinker exit after last result', result: `p50 ${l.shutdown_p50_ms} ms, p99 ${l.shutdown_p99_ms} ms`, 'raw limit / anchor': 'Python: 1 s polling tick', target: '' });
        break;
      case 'stop': {
        const each = (what: string) => ['threads', 'processes', 'executable'].map((m) => l[`${m}_${what}_p50_ms`]).join('/');
        rows.push({ benchmark: bench, case: 'threads/processes/executable', result: `timeout late p50 ${each('timeout_late')} ms; cancel p50 ${each('cancel')} ms`, 'raw limit / anchor': '', target: '< 100 ms' });
        break;
      }
      case 'payload': {
        const key = `${l.path} ${l.mb} MiB`;
        payloads.set(key, [...(payloads.get(key) ?? []), l]);
        break;
      }
      case 'scale':
        rows.push({
          benchmark: bench,
          case: `${l.tasks} no-op tasks, window ${l.window}`,
          result: `${l.seconds} s, ${l.tasks_per_s} tasks/s, peak RSS ${l.peak_rss_mb} MiB`,
          'raw limit / anchor': `bare loop ${l.bare_tasks_per_s} tasks/s`,
          target: `1,000,000 in ≤ 60 s, ≤ 1024 MiB${verdict(l.meets_target)}`,
        });
        break;
      case 'scale-queued':
        rows.push({ benchmark: bench, case: `${l.tasks} tasks sent at once`, result: `${l.bytes_per_queued_task} B per queued task, ${l.bytes_per_queued_result} B per waiting result`, 'raw limit / anchor': '', target: '' });
        break;
      case 'envelope':
        rows.push({
          benchmark: bench,
          case: `${l.mb} MiB × ${l.seconds} s, ${l.workers} workers`,
          result: `${pct(l.utilization)} utilization${l.bound ? ` (bound: ${l.bound}; CPU ours ${pct(l.cpu_busy)}, all ${pct(l.machine_cpu_busy)})` : ''}`,
          'raw limit / anchor': l.anchor === null ? '' : `Python ${pct(l.anchor)}`,
          target: l.target === null ? '' : `≥ ${pct(l.target)}${verdict(l.meets_target)}`,
        });
        break;
      default:
        rows.push({ benchmark: bench, case: '', result: JSON.stringify(l), 'raw limit / anchor': '', target: '' });
    }
  }
  for (const [key, group] of payloads) {
    const first = group[0]!;
    rows.push({
      benchmark: 'payload',
      case: key,
      result: group.map((l) => `${l.kind} ${l.ms_per_task} ms`).join(', '),
      'raw limit / anchor': `bare ${first.bare_path_ms} ms${first.bare_socket_ms === undefined ? '' : `, socket ${first.bare_socket_ms} ms`}, copy ${first.bare_copy_ms} ms`,
      target: group.some((l) => l.target_ms !== undefined) ? group.map((l) => `≤ ${l.target_ms} ms${verdict(l.meets_target)}`).join(', ') : '',
    });
  }
  return rows;
}

/**
 * A bare Redis client for raw limits: RESP over a plain socket, one request at a time, each
 * value read into one buffer of its exact size. No reconnects, no options; `redis://host:port`.
 */
export class RespSocket {
  readonly #socket: Socket;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #wake: (() => void) | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#bytes += chunk.length;
      this.#wake?.();
    });
  }

  static async open(url: string): Promise<RespSocket> {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port), noDelay: true });
    await once(socket, 'connect');
    return new RespSocket(socket);
  }

  async #until(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((resolve) => (this.#wake = resolve));
    this.#wake = null;
  }

  #take(): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#bytes = 0;
    return all;
  }

  async set(key: string, value: Buffer): Promise<void> {
    this.#socket.cork();
    this.#socket.write(`*3\r\n$3\r\nSET\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n$${value.length}\r\n`);
    this.#socket.write(value);
    this.#socket.write('\r\n');
    this.#socket.uncork();
    await this.#until(() => this.#bytes >= 5); // +OK\r\n
    this.#take();
  }

  async get(key: string): Promise<Buffer> {
    this.#socket.write(`*2\r\n$3\r\nGET\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n`);
    await this.#until(() => this.#chunks.some((chunk) => chunk.includes(10)));
    const head = this.#chunks[0]!.length > 32 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const headerEnd = head.indexOf('\r\n');
    const length = Number(head.subarray(1, headerEnd).toString());
    if (!(length >= 0)) throw new Error(`GET ${key}: unexpected reply ${head.subarray(0, headerEnd).toString()}`);
    await this.#until(() => this.#bytes >= headerEnd + 2 + length + 2);
    const value = Buffer.allocUnsafeSlow(length);
    let offset = -(headerEnd + 2);
    for (const chunk of this.#chunks) {
      const from = Math.max(0, -offset);
      const to = Math.min(chunk.length, length - offset);
      if (to > from) chunk.copy(value, offset + from, from, to);
      offset += chunk.length;
    }
    this.#take();
    return value;
  }

  async del(...keys: string[]): Promise<void> {
    this.#socket.write(`*${keys.length + 1}\r\n$3\r\nDEL\r\n${keys.map((k) => `$${Buffer.byteLength(k)}\r\n${k}\r\n`).join('')}`);
    await this.#until(() => this.#chunks.some((chunk) => chunk.includes(10)));
    this.#take();
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** Cumulative CPU time of the whole machine (all processes), from /proc/stat, in clock ticks. */
export function machineCpuTicks(): { busy: number; total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = fields[3]! + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

/** CPU milliseconds (user + system) a process has used so far, from /proc; NaN where unreadable. */
export function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
  } catch {
    return NaN;
  }
}

/** Fraction of all CPUs busy (any process) between two {@link machineCpuTicks} readings. */
export function machineBusy(before: { busy: number; total: number }, after: { busy: number; total: number }): number {
  return (after.busy - before.busy) / (after.total - before.total);
}

const ROOT = new URL('../', import.meta.url);

/** Start a bench script in a node process of its own (from the repository root) and wait for its first line on stdout, which says it is ready. */
export async function startProcess(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, COLMENA_LOG_LEVEL: 'warn' },
  });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`${args.join(' ')} exited with code ${String(code)} before it was ready`);
  });
  const ready = once(child.stdout!, 'data');
  await Promise.race([ready, exited]);
  exited.catch(() => {});
  child.stdout!.resume();
  return child;
}

/** Newest modification time of any file under `folder`, in ms. */
function newestMtimeMs(folder: URL): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
  }
  return newest;
}

/**
 * The Redis path is measured on the package as users run it: the compiled `dist/` that
 * `import 'colmena'` and `npx colmena` load, not the sources through tsx (whose keepNames
 * transform gives every closure created on the hot path a defineProperty call). Rebuilt first
 * when a source file is newer than the build, so a figure never comes from stale code.
 */
export function ensureBuilt(): void {
  const built = statSync(new URL('dist/index.js', ROOT), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (newestMtimeMs(new URL('src/', ROOT)) <= built) return;
  process.stderr.write('# building dist/ (npm run build): the benchmark measures the built package\n');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * `colmena` and `colmena/redis` as an installed user imports them (the package's own exports, so
 * the built files); typed by their sources. Call {@link ensureBuilt} first.
 */
export async function importBuilt(): Promise<{ colmena: typeof import('../src/index.js'); redis: typeof import('../src/redis.js') }> {
  // Specifiers in variables: the type checker must not need dist/ to exist.
  const [main, redis] = ['colmena', 'colmena/redis'];
  return { colmena: (await import(main)) as typeof import('../src/index.js'), redis: (await import(redis)) as typeof import('../src/redis.js') };
}
