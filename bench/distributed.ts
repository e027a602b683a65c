/**
 * `npm run bench -- distributed`: no-op tasks through the task server's BullMQ executor and two
 * `colmena worker` processes, against raw BullMQ (Queue.add → two bare Worker processes → the
 * QueueEvents 'completed' event) through the same Redis in the same run. Starts its own
 * redis-server unless REDIS_URL is set.
 *
 * The colmena workers run with --inline, like the bare BullMQ processor, so the two differ only by
 * what colmena adds; --threads measures the worker default (a worker thread per concurrent task).
 *
 * A second line, `distributed-by-reference`, echoes a 50 kB value through one worker inline and by
 * reference through a Redis store (1,000-byte threshold), beside the bare BullMQ p50.
 *
 * Options: --tasks N, --latency-tasks N, --window N (tasks in flight), --workers N,
 * --concurrency N (per worker), --threads, --quick.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { remoteMethod } from '../src/methods/spec.js';
import { LocalQueues } from '../src/queue/local.js';
import { BullmqExecutor } from '../src/task-server/bullmq/executor.js';
import { LocalTaskServer } from '../src/task-server/local.js';
import { RedisStore } from '../src/proxy/redis-store.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { closedLoopThroughput, flag, option, percentile, report, round, sequentialLatencies, startProcess } from './lib.js';

const THIS_FILE = fileURLToPath(import.meta.url);

async function stopProcesses(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }),
  );
}

/** Resolves `receive()` calls one per completion, in order. */
function completionCounter() {
  let completed = 0;
  let taken = 0;
  let wake: (() => void) | null = null;
  return {
    complete() {
      completed++;
      wake?.();
    },
    async receive() {
      while (completed <= taken) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      taken++;
    },
  };
}

async function bare(url: string, options: Measure) {
  const prefix = `bench-${randomUUID()}`;
  const workers = await Promise.all(
    Array.from({ length: options.workers }, () => startProcess([THIS_FILE, 'bare-worker', url, prefix, String(options.concurrency)])),
  );
  const queue = new Queue('noop', { connection: { url }, prefix, streams: { events: { maxLen: 100_000 } } });
  // From the stream's start, not '$': completions before the first XREAD must count too.
  const events = new QueueEvents('noop', { connection: { url }, prefix, lastEventId: '0-0' });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  const counter = completionCounter();
  events.on('completed', () => counter.complete());
  // Like sendInputs on LocalQueues, sending does not wait for Redis: several adds may be in flight.
  const adding = new Set<Promise<unknown>>();
  const send = async () => {
    const added = queue.add('noop', {}, { removeOnComplete: true, removeOnFail: true }).finally(() => adding.delete(added));
    adding.add(added);
  };
  try {
    await closedLoopThroughput(1000, options.window, send, counter.receive);
    const tasksPerS = await closedLoopThroughput(options.total, options.window, send, counter.receive);
    const latencies = await sequentialLatencies(options.latencyCount, async () => {
      await send();
      await counter.receive();
    });
    return { tasksPerS, latencies };
  } finally {
    await Promise.all(adding);
    await Promise.all([events.close(), queue.close()]);
    await stopProcesses(workers);
  }
}

async function colmena(url: string, options: Measure & { threads: boolean }) {
  const prefix = `bench-${randomUUID()}`;
  const workerArgs = ['src/cli/main.ts', 'worker', '--redis', url, '--prefix', prefix, '--executor', 'bench'];
  workerArgs.push('--methods', 'bench/noop-methods.ts', '--concurrency', String(options.concurrency));
  if (!options.threads) workerArgs.push('--inline');
  const workers = await Promise.all(Array.from({ length: options.workers }, () => startProcess(workerArgs)));
  const queues = new LocalQueues<{ noop: () => void }>();
  const server = new LocalTaskServer(queues, {
    methods: { noop: remoteMethod<() => void>({ executor: 'bench' }) },
    executors: { bench: new BullmqExecutor('bench', { url, prefix }) },
  }).start();
  const send = async () => void (await queues.sendInputs('noop', []));
  const receive = async () => void (await queues.getResult());
  try {
    await closedLoopThroughput(1000, options.window, send, receive);
    const tasksPerS = await closedLoopThroughput(options.total, options.window, send, receive);
    const latencies = await sequentialLatencies(options.latencyCount, async () => {
      await send();
      await receive();
    });
    return { tasksPerS, latencies };
  } finally {
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
    await stopProcesses(workers);
  }
}

/**
 * A 50 kB value echoed through `colmena worker`, sequentially: inline in the job, and by reference
 * through a Redis store (1,000-byte threshold), with how much of each task rode the BullMQ job.
 */
async function byReference(url: string, options: { count: number; valueBytes: number }) {
  const prefix = `bench-${randomUUID()}`;
  const store = new RedisStore({ url, prefix: `${prefix}-store`, id: 'bench-store' });
  const workerArgs = ['src/cli/main.ts', 'worker', '--redis', url, '--prefix', prefix, '--executor', 'bench'];
  workerArgs.push('--methods', 'bench/echo-methods.ts', '--concurrency', '4', '--inline', '--store', JSON.stringify(store.config()));
  const workers = [await startProcess(workerArgs)];
  const value = 'x'.repeat(options.valueBytes);
  const measure = async (proxied: boolean) => {
    const queues = new LocalQueues<{ echo: (value: string) => string }>(proxied ? { proxy: { store, thresholdBytes: 1000 } } : {});
    const server = new LocalTaskServer(queues, {
      methods: { echo: remoteMethod<(value: string) => string>({ executor: 'bench' }) },
      executors: { bench: new BullmqExecutor('bench', { url, prefix }) },
    }).start();
    let referenced = 0;
    let ok = 0;
    try {
      const latencies = await sequentialLatencies(options.count, async () => {
        await queues.sendInputs('echo', [value]);
        const result = await queues.getResult();
        if (result.value === value) ok++;
        if (Object.keys(result.time.proxy).length === 2) referenced++;
      });
      return { p50: percentile(latencies, 50), referenced, ok };
    } finally {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    }
  };
  try {
    const inline = await measure(false);
    const proxied = await measure(true);
    return { inline, proxied };
  } finally {
    await stopProcesses(workers);
    await store.close();
  }
}

interface Measure {
  total: number;
  latencyCount: number;
  window: number;
  workers: number;
  concurrency: number;
}

export async function main(argv: string[]): Promise<void> {
  const quick = flag(argv, 'quick');
  const options = {
    total: option(argv, 'tasks', quick ? 3000 : 20_000),
    latencyCount: option(argv, 'latency-tasks', quick ? 300 : 2000),
    window: option(argv, 'window', 64),
    workers: option(argv, 'workers', 2),
    concurrency: option(argv, 'concurrency', 32),
    threads: flag(argv, 'threads'),
  };
  const ownServer = process.env.REDIS_URL ? null : await startRedisServer();
  const url = process.env.REDIS_URL ?? ownServer!.url;
  try {
    const baseline = await bare(url, options);
    const measured = await colmena(url, options);
    const p50 = percentile(measured.latencies, 50);
    const bareP50 = percentile(baseline.latencies, 50);
    const refs = await byReference(url, { count: quick ? 100 : 500, valueBytes: 50_000 });
    report({
      bench: 'distributed-by-reference',
      tasks: quick ? 100 : 500,
      value_bytes: 50_000,
      threshold_bytes: 1000,
      by_reference_p50_ms: round(refs.proxied.p50),
      inline_p50_ms: round(refs.inline.p50),
      bare_p50_ms: round(bareP50),
      // Tasks whose input and value both went through the store (two timed references), and whose value came back intact.
      tasks_by_reference: refs.proxied.referenced,
      values_intact: refs.proxied.ok + refs.inline.ok,
    });
    report({
      bench: 'distributed',
      tasks: options.total,
      window: options.window,
      workers: options.workers,
      concurrency: options.concurrency,
      worker_mode: options.threads ? 'threads' : 'inline',
      tasks_per_s: Math.round(measured.tasksPerS),
      p50_ms: round(p50),
      p99_ms: round(percentile(measured.latencies, 99)),
      bare_tasks_per_s: Math.round(baseline.tasksPerS),
      bare_p50_ms: round(bareP50),
      throughput_ratio: round(measured.tasksPerS / baseline.tasksPerS),
      p50_ratio: round(p50 / bareP50),
    });
  } finally {
    await ownServer?.stop();
  }
}

/** The bare BullMQ worker process: a no-op processor, stopped by SIGTERM. */
async function bareWorker(url: string, prefix: string, concurrency: number): Promise<void> {
  const worker = new Worker('noop', async () => null, { connection: { url }, prefix, concurrency });
  await worker.waitUntilReady();
  console.log('ready');
  await once(process, 'SIGTERM');
  await worker.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'bare-worker') {
  await bareWorker(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
}
