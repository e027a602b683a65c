/** Small helpers shared by the benchmarks. */

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
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
  console.log(line(keys));
  for (const row of rows) console.log(line(keys.map((key) => text(row[key]))));
}
