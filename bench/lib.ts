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
