/**
 * Colmena's "task-limits" study: how busy can N workers be kept when each task sleeps for d
 * seconds and takes s MiB in and gives s MiB back, through the Redis queues and the object store?
 *
 *   npx tsx examples/task-limits/run.ts [--workers 16] [--seconds 0.1] [--mb 1] [--tasks 128]
 *     [--in-flight 16] [--worker-kind slots|threads]
 *
 * Starts its own redis-server unless REDIS_URL is set. `npm run bench -- envelope` sweeps it over
 * d ∈ {0.01, 0.1, 1} s and s ∈ {0.1, 1, 10} MiB.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import {
  agent,
  BaseThinker,
  type MethodsOf,
  ResourceCounter,
  type Result,
  resultProcessor,
  taskSubmitter,
  WorkQueue,
} from '../../src/index.js';
import { RedisQueues, RedisStore } from '../../src/redis.js';
import { startRedisServer } from '../../test/helpers/redis-server.js';
import { type methods, serve, type WorkerKind } from './server.js';

type Methods = MethodsOf<typeof methods>;

const MIB = 1024 * 1024;

export interface TaskLimitsOptions {
  /** Workers of the task server, each running one task at a time (see {@link workerKind}). @default 16 */
  workers?: number;
  /** Mean task duration in seconds. @default 0.1 */
  seconds?: number;
  /** Input size and output size of each task, in MiB. @default 1 */
  mb?: number;
  /** Tasks to run. @default 8 per worker */
  tasks?: number;
  /**
   * Tasks the thinker keeps sent and unfinished. With one per worker (Colmena's study) a worker
   * idles while its result travels back and the next task travels out; a few more keep a task
   * waiting at each worker. @default workers
   */
  inFlight?: number;
  /** Standard deviation of the durations, as a fraction of the mean. @default 0.01 */
  spread?: number;
  /** Inputs and values at least this large travel through the object store. @default 64 KiB */
  thresholdBytes?: number;
  /** Redis to use (queues and store); a throwaway redis-server is started when absent. */
  redisUrl?: string;
  /** Seed of the task durations. @default 1 */
  seed?: number;
  /**
   * Run the task server in a process of its own, as Colmena does (`false`: on this process's
   * event loop, beside the thinker). @default true
   */
  serverProcess?: boolean;
  /**
   * What a worker is: a numbered slot on the task server's event loop (`slots`, see
   * `SlotsExecutor` in server.ts), or a worker thread of its own (`threads`). @default 'slots'
   */
  workerKind?: WorkerKind;
}

export interface TaskLimitsOutcome {
  workers: number;
  workerKind: WorkerKind;
  seconds: number;
  mb: number;
  tasks: number;
  inFlight: number;
  /** Tasks that came back successful with an output of the right size. */
  succeeded: number;
  /** Mean over workers of (time running ÷ time from its first task's end to its last one's). */
  utilization: number;
  /** Utilization of each worker, by worker id. */
  byWorker: Record<string, number>;
  /** Median time a worker spent between the end of one task and the end of its next, minus that task's running time, in ms. */
  medianGapMs: number;
  wallSeconds: number;
  /** CPU seconds used by the thinker's process, the task server's (when apart; worker threads included) and redis-server. */
  cpuSeconds: { thinker: number; server: number; redis: number };
  /** Median milliseconds of each leg of a task's trip (see {@link tripLegs}). */
  legsMs: TripLegs;
}

/** Where a task's time goes, in ms. */
export interface TripLegs {
  /** Created by the thinker (inputs encoded and stored) → taken off the request list by the task server. */
  toServer: number;
  /** Taken by the task server → its method starts on a worker (inputs fetched and decoded). */
  toWorker: number;
  running: number;
  /** Method returns → the task server has the reply (value encoded and stored). */
  fromWorker: number;
  /** Task server has the reply → the thinker has the result (value fetched and decoded). */
  toThinker: number;
}

export function tripLegs(results: readonly Result[]): TripLegs {
  const median = (pick: (r: Result) => number): number => {
    const values = results.map(pick).filter(Number.isFinite).sort((a, b) => a - b);
    return (values[Math.floor(values.length / 2)] ?? NaN) * 1000;
  };
  return {
    toServer: median((r) => r.timestamp.inputReceived - r.timestamp.created),
    toWorker: median((r) => r.timestamp.computeStarted - r.timestamp.inputReceived),
    running: median((r) => r.time.running),
    fromWorker: median((r) => r.timestamp.taskReceived - r.timestamp.computeEnded),
    toThinker: median((r) => r.timestamp.resultReceived - r.timestamp.taskReceived + (r.time.deserializeResults || 0)),
  };
}

/** Durations around `mean` with a relative spread, normally distributed (Box–Muller on a seeded generator), never negative. */
function durations(count: number, mean: number, spread: number, seed: number): number[] {
  let state = seed >>> 0 || 1;
  const uniform = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 1) / 4294967297;
  };
  return Array.from({ length: count }, () => {
    const normal = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    return Math.max(0, mean * (1 + spread * normal));
  });
}

class Thinker extends BaseThinker<Methods> {
  readonly todo: WorkQueue<number>;
  readonly input: Uint8Array;
  readonly outputBytes: number;
  readonly results: Result[] = [];
  succeeded = 0;

  constructor(queues: RedisQueues<Methods>, inFlight: number, runtimes: number[], bytes: number) {
    super(queues, new ResourceCounter(inFlight, ['task']), { loggerName: 'task-limits' });
    this.todo = new WorkQueue(runtimes);
    this.todo.close();
    // One source array; each task encodes and stores its own copy of it.
    this.input = Buffer.alloc(bytes, 1);
    this.outputBytes = bytes;
  }

  @agent({ startup: true })
  async allocate() {
    await this.rec.reallocate(null, 'task', 'all');
  }

  /** Sends a task whenever a worker's slot is free, so every worker always has one. */
  @taskSubmitter({ taskType: 'task', workQueue: 'todo' })
  async submit(runtime: number) {
    await this.queues.sendInputs('target', [this.input, this.outputBytes, runtime], { keepInputs: false });
  }

  @resultProcessor()
  collect(result: Result) {
    this.rec.release('task', 1);
    const value = result.value as Uint8Array | undefined;
    if (result.success && value?.byteLength === this.outputBytes) this.succeeded++;
    else this.logger.error({ failure: result.failureInfo?.message, bytes: value?.byteLength }, 'task failed');
    // Keep the timings, not the data.
    result.value = undefined;
    this.results.push(result);
  }
}

/** Colmena's measure: per worker, running time after its first task ÷ time from its first end to its last, averaged over workers. */
export function workerUtilization(results: readonly Result[]): { utilization: number; byWorker: Record<string, number>; medianGapMs: number } {
  const byWorker = new Map<string, Result[]>();
  for (const result of results) {
    const id = result.workerInfo?.workerId ?? `${result.workerInfo?.hostname}-${result.workerInfo?.pid}`;
    const tasks = byWorker.get(id);
    if (tasks) tasks.push(result);
    else byWorker.set(id, [result]);
  }
  const utilizations: Record<string, number> = {};
  const gaps: number[] = [];
  for (const [id, tasks] of byWorker) {
    tasks.sort((a, b) => a.timestamp.computeEnded - b.timestamp.computeEnded);
    if (tasks.length < 2) continue;
    const elapsed = tasks.at(-1)!.timestamp.computeEnded - tasks[0]!.timestamp.computeEnded;
    const running = tasks.slice(1).reduce((sum, task) => sum + task.time.running, 0);
    utilizations[id] = running / elapsed;
    for (let i = 1; i < tasks.length; i++) {
      gaps.push((tasks[i]!.timestamp.computeEnded - tasks[i - 1]!.timestamp.computeEnded - tasks[i]!.time.running) * 1000);
    }
  }
  const values = Object.values(utilizations);
  gaps.sort((a, b) => a - b);
  return {
    utilization: values.reduce((a, b) => a + b, 0) / values.length,
    byWorker: utilizations,
    medianGapMs: gaps[Math.floor(gaps.length / 2)] ?? NaN,
  };
}

interface RunningServer {
  /** CPU seconds the task server has used so far (0 when it shares this process). */
  cpuSeconds(): Promise<number>;
  /** Resolves once the server has answered the kill signal and stopped. */
  stopped: Promise<void>;
}

/** Start server.ts in a child process; its CPU time is read from /proc while it runs. */
async function serveInProcess(url: string, prefix: string, workers: number, kind: WorkerKind): Promise<RunningServer> {
  const file = fileURLToPath(new URL('./server.ts', import.meta.url));
  const execArgv = process.execArgv.length > 0 ? process.execArgv : ['--import', 'tsx'];
  const child: ChildProcess = spawn(process.execPath, [...execArgv, file, url, prefix, String(workers), kind], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, COLMENA_LOG_LEVEL: process.env.COLMENA_LOG_LEVEL ?? 'warn' },
  });
  const exited = once(child, 'exit');
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await Promise.race([
    new Promise<void>((resolve) => child.stdout!.on('data', () => output.includes('ready') && resolve())),
    exited.then(([code]) => Promise.reject(new Error(`the task server exited with code ${String(code)} before it was ready`))),
  ]);
  return {
    async cpuSeconds() {
      const { readFile } = await import('node:fs/promises');
      const fields = (await readFile(`/proc/${child.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
      // utime and stime, fields 14 and 15 of stat (11 and 12 after the command name), in clock ticks.
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    stopped: exited.then(([code]) => {
      if (code !== 0) throw new Error(`the task server exited with code ${String(code)}:\n${output}`);
    }),
  };
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

export async function runTaskLimits(options: TaskLimitsOptions = {}): Promise<TaskLimitsOutcome> {
  const workers = options.workers ?? 16;
  const seconds = options.seconds ?? 0.1;
  const mb = options.mb ?? 1;
  const tasks = options.tasks ?? workers * 8;
  const inFlight = options.inFlight ?? workers;
  const workerKind = options.workerKind ?? 'slots';
  const bytes = Math.round(mb * MIB);
  const ownServer = options.redisUrl ? null : await startRedisServer();
  const url = options.redisUrl ?? ownServer!.url;
  const prefix = `task-limits-${randomUUID()}`;
  const store = new RedisStore({ url, prefix: `${prefix}-store` });
  const proxy = { store, thresholdBytes: options.thresholdBytes ?? 64 * 1024 };
  const client = new RedisQueues<Methods>({ url, prefix, role: 'client', serializationMethod: 'msgpack', proxy });
  const server =
    options.serverProcess === false
      ? { cpuSeconds: async () => 0, stopped: serve(url, prefix, workers, workerKind, () => {}) }
      : await serveInProcess(url, prefix, workers, workerKind);
  const monitor = new Redis(url);
  try {
    // Warm up every thread (start-up, module load, store connection) outside the measurement:
    // rounds of one task per worker, each long enough to keep its thread busy, until all have run one.
    const warm = new Set<string>();
    for (let round = 0; round < 10 && warm.size < workers; round++) {
      for (let i = 0; i < workers; i++) await client.sendInputs('target', [new Uint8Array(proxy.thresholdBytes), proxy.thresholdBytes, 0.25]);
      for (let i = 0; i < workers; i++) warm.add(String((await client.getResult()).workerInfo?.workerId));
    }

    const thinker = new Thinker(client, inFlight, durations(tasks, seconds, options.spread ?? 0.01, options.seed ?? 1), bytes);
    const redisCpuBefore = await redisCpuSeconds(monitor);
    const serverCpuBefore = await server.cpuSeconds();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await thinker.run();
    const wallSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const serverCpu = (await server.cpuSeconds()) - serverCpuBefore;
    const redisCpu = (await redisCpuSeconds(monitor)) - redisCpuBefore;
    return {
      workers,
      workerKind,
      seconds,
      mb,
      tasks,
      inFlight,
      succeeded: thinker.succeeded,
      ...workerUtilization(thinker.results),
      wallSeconds,
      cpuSeconds: { thinker: (cpu.user + cpu.system) / 1e6, server: serverCpu, redis: redisCpu },
      legsMs: tripLegs(thinker.results),
    };
  } finally {
    await client.sendKillSignal();
    await server.stopped;
    await client.close();
    await store.close();
    monitor.disconnect();
    await ownServer?.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.COLMENA_LOG_LEVEL ??= 'warn';
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '16' },
      seconds: { type: 'string', default: '0.1' },
      mb: { type: 'string', default: '1' },
      tasks: { type: 'string' },
      'in-flight': { type: 'string' },
      'worker-kind': { type: 'string', default: 'slots' },
    },
  });
  const outcome = await runTaskLimits({
    workers: Number(values.workers),
    seconds: Number(values.seconds),
    mb: Number(values.mb),
    tasks: values.tasks === undefined ? undefined : Number(values.tasks),
    inFlight: values['in-flight'] === undefined ? undefined : Number(values['in-flight']),
    workerKind: values['worker-kind'] as WorkerKind,
    redisUrl: process.env.REDIS_URL,
  });
  console.log(
    `${outcome.workers} workers, ${outcome.tasks} tasks of ${outcome.seconds} s with ${outcome.mb} MiB in and out: ` +
      `utilization ${(outcome.utilization * 100).toFixed(1)} %, ${outcome.succeeded} succeeded, ` +
      `median gap ${outcome.medianGapMs.toFixed(1)} ms, ${outcome.wallSeconds.toFixed(2)} s`,
  );
}
