/**
 * `npm run bench -- scale`: many no-op tasks through the local path (LocalQueues, LocalTaskServer,
 * inline executor), each measurement in a fresh Node process so its peak RSS is its own.
 *
 * - `scale`: 1,000,000 tasks with a bounded in-flight window (the thinker sends one task per
 *   result it takes): seconds, tasks per second and peak RSS (VmHWM, taken before
 *   the bare loop runs), beside the raw limit of the same loop: plain objects through
 *   two async queues and an answering loop, no Result, encoding or bookkeeping.
 * - `scale-queued`: 100,000 tasks sent at once with no window before the task server starts:
 *   bytes each queued task holds (heap and external memory after a full GC, over what was held
 *   before), then the same for each result waiting to be taken once the server has run them all,
 *   then the time to take them all.
 *
 * Options: --tasks N, --window N, --queued N, --executor inline|threads (threads: 2), --quick
 * (200,000 and 20,000 tasks).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { inlineMethod, moduleMethod } from '../src/methods/spec.js';
import { LocalQueues } from '../src/queue/local.js';
import { LocalTaskServer } from '../src/task-server/local.js';
import { AsyncQueue } from '../src/common/async-queue.js';
import { flag, option, printTable, report, round } from './lib.js';

const THIS_FILE = fileURLToPath(import.meta.url);
type Noop = { noop: () => void };

function serverFor(queues: LocalQueues<Noop>, executor: string): LocalTaskServer {
  const noop =
    executor === 'threads' ? moduleMethod<() => void>(new URL('./noop-methods.ts', import.meta.url), 'noop') : inlineMethod(() => {});
  return new LocalTaskServer(queues, { methods: { noop }, threads: 2 });
}

async function stop(queues: LocalQueues<Noop>, server: LocalTaskServer): Promise<void> {
  await queues.sendKillSignal();
  await server.join();
  await queues.close();
}

/**
 * The raw limit of the same closed loop: plain objects through two async queues (requests and
 * results) and a serving loop that answers each at once, with no Result, encoding or bookkeeping.
 */
async function bareLoopSeconds(total: number, window: number): Promise<number> {
  const requests = new AsyncQueue<{ id: number } | null>();
  const results = new AsyncQueue<{ id: number; ok: boolean }>();
  const serving = (async () => {
    for (;;) {
      const request = await requests.shift('a request');
      if (request === null) return;
      results.push({ id: request.id, ok: true });
    }
  })();
  const run = async (count: number): Promise<number> => {
    const started = performance.now();
    let sent = 0;
    for (; sent < Math.min(window, count); sent++) requests.push({ id: sent });
    for (let done = 0; done < count; done++) {
      await results.shift('a result');
      if (sent < count) requests.push({ id: sent++ });
    }
    return (performance.now() - started) / 1000;
  };
  await run(Math.min(20_000, total));
  const seconds = await run(total);
  requests.push(null);
  await serving;
  return seconds;
}

/** `total` tasks, at most `window` in flight; every result is checked. */
async function windowed(total: number, window: number, executor: string): Promise<Record<string, unknown>> {
  const queues = new LocalQueues<Noop>();
  const server = serverFor(queues, executor).start();
  const run = async (count: number): Promise<number> => {
    const started = performance.now();
    let sent = 0;
    let failed = 0;
    for (; sent < Math.min(window, count); sent++) await queues.sendInputs('noop', []);
    for (let done = 0; done < count; done++) {
      const result = await queues.getResult();
      if (!result.success) failed++;
      if (sent < count) {
        await queues.sendInputs('noop', []);
        sent++;
      }
    }
    if (failed > 0) throw new Error(`${failed} of ${count} no-op tasks failed`);
    return (performance.now() - started) / 1000;
  };
  await run(Math.min(20_000, total)); // warm-up: JIT
  const seconds = await run(total);
  const peakMb = peakRssMb();
  await stop(queues, server);
  const bareSeconds = await bareLoopSeconds(total, window);
  return {
    bench: 'scale',
    tasks: total,
    window,
    executor,
    seconds: round(seconds, 2),
    tasks_per_s: Math.round(total / seconds),
    peak_rss_mb: Math.round(peakMb),
    bare_tasks_per_s: Math.round(total / bareSeconds),
    throughput_ratio: round(bareSeconds / seconds),
  };
}

/**
 * Peak resident memory of this process in MiB: VmHWM, which starts afresh at exec (unlike
 * `resourceUsage().maxRSS`, which a spawned child inherits from its parent's peak).
 */
function peakRssMb(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function heldBytes(): { heap: number; rss: number } {
  collectGarbage();
  collectGarbage();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed + usage.external, rss: usage.rss };
}

/** `total` tasks sent at once, before the task server starts. */
async function queued(total: number, executor: string): Promise<Record<string, unknown>> {
  const queues = new LocalQueues<Noop>();
  const server = serverFor(queues, executor);
  // Warm up the code paths on a separate pair so the baseline holds compiled code too.
  {
    const warm = new LocalQueues<Noop>();
    const warmServer = serverFor(warm, 'inline').start();
    for (let i = 0; i < 5000; i++) await warm.sendInputs('noop', []);
    for (let i = 0; i < 5000; i++) await warm.getResult();
    await stop(warm, warmServer);
  }
  const before = heldBytes();
  const sendStarted = performance.now();
  for (let i = 0; i < total; i++) await queues.sendInputs('noop', []);
  const sendSeconds = (performance.now() - sendStarted) / 1000;
  const withRequests = heldBytes();

  let finished = 0;
  const allRun = new Promise<void>((resolve) => server.events.on('result', () => ++finished === total && resolve()));
  const runStarted = performance.now();
  server.start();
  await allRun;
  const runSeconds = (performance.now() - runStarted) / 1000;
  const withResults = heldBytes();

  const takeStarted = performance.now();
  for (let i = 0; i < total; i++) {
    const result = await queues.getResult();
    if (!result.success) throw new Error(`no-op task failed: ${result.failureInfo?.message}`);
  }
  const takeSeconds = (performance.now() - takeStarted) / 1000;
  await stop(queues, server);
  return {
    bench: 'scale-queued',
    tasks: total,
    executor,
    bytes_per_queued_task: Math.round((withRequests.heap - before.heap) / total),
    rss_bytes_per_queued_task: Math.round((withRequests.rss - before.rss) / total),
    bytes_per_queued_result: Math.round((withResults.heap - before.heap) / total),
    send_s: round(sendSeconds, 2),
    run_s: round(runSeconds, 2),
    take_s: round(takeSeconds, 2),
    peak_rss_mb: Math.round(peakRssMb()),
  };
}

/** Run one measurement in a fresh process and return its JSON line. */
async function inChild(args: string[]): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, ['--import', 'tsx', THIS_FILE, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, COLMENA_LOG_LEVEL: 'warn' },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const last = output.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('{')) throw new Error(`scale measurement ${args.join(' ')} exited with code ${code}:\n${output}`);
  return JSON.parse(last) as Record<string, unknown>;
}

export async function main(argv: string[]): Promise<void> {
  const quick = flag(argv, 'quick');
  const tasks = option(argv, 'tasks', quick ? 200_000 : 1_000_000);
  const window = option(argv, 'window', 1000);
  const queuedTasks = option(argv, 'queued', quick ? 20_000 : 100_000);
  const chosen = argv.includes('--executor') ? argv[argv.indexOf('--executor') + 1] : 'inline';
  if (chosen !== 'inline' && chosen !== 'threads') throw new Error(`--executor must be inline or threads, got '${chosen}'`);

  const scale = await inChild(['windowed', String(tasks), String(window), chosen]);
  const queuedLine = await inChild(['queued', String(queuedTasks), chosen]);
  console.log(`# scale: targets 1,000,000 tasks in ≤ 60 s with peak RSS ≤ 1024 MiB`);
  printTable([scale, queuedLine].map(({ bench, ...rest }) => ({ bench, ...rest })));
  if (tasks >= 1_000_000) Object.assign(scale, { meets_target: (scale.seconds as number) <= 60 && (scale.peak_rss_mb as number) <= 1024 });
  report(scale);
  report(queuedLine);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, a, b, c] = process.argv.slice(2);
  const line = mode === 'windowed' ? await windowed(Number(a), Number(b), c ?? 'inline') : await queued(Number(a), b ?? 'inline');
  console.log(JSON.stringify(line));
}
