/** `colmena worker`: serve a module's methods to a task server's BullMQ executor, from any host. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import type { RedisOptions } from 'ioredis';
import { DEFAULT_PREFIX, DEFAULT_REDIS_URL, redactUrl } from '../task-server/bullmq/connection.js';
import { BullmqWorker } from '../task-server/bullmq/worker.js';
import type { StoreConfig } from '../proxy/store.js';
import { RedisConnectionError } from '../common/redis-connection.js';
import { stopAtWalltime, Walltime } from '../common/deadline.js';

export interface WorkerCommandOptions {
  redis: string;
  prefix: string;
  methods: string;
  executor: string;
  /** @default the number of --accelerators entries, else the number of cores */
  concurrency?: number;
  inline: boolean;
  /** Device sets to pin task slots to, one per slot (`['0', '1']`, or `['0,1', '2,3']`). */
  accelerators?: string[];
  lockMs?: number;
  stalledIntervalMs?: number;
  maxStalled?: number;
  passwordFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Seconds until the job's walltime: then stop as on SIGTERM (finish the tasks in hand). */
  walltime?: number;
  /** Object stores as JSON configs (`{ kind: 'file', id, dir }` or `{ kind: 'redis', id, url, prefix }`), repeatable. */
  store?: string[];
}

function positive(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a positive integer');
  return parsed;
}

function nonNegative(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return parsed;
}

/** Add the `worker` command to the `colmena` program. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('serve the function exports of a module as methods of a BullMQ executor; run one per host (e.g. with srun)')
    .requiredOption('--methods <module>', 'module whose function exports are served, e.g. ./dist/methods.js')
    .requiredOption('--executor <name>', "executor (BullMQ queue) to serve, as named in the task server, e.g. 'cpu'")
    .option('--redis <url>', 'redis://[user:password@]host:port, or rediss:// for TLS (env COLMENA_REDIS_URL)', process.env.COLMENA_REDIS_URL ?? DEFAULT_REDIS_URL)
    .option('--prefix <prefix>', "the campaign's key prefix; the same as the task server's (env COLMENA_PREFIX)", process.env.COLMENA_PREFIX ?? DEFAULT_PREFIX)
    .option('--concurrency <n>', 'tasks run at once, each on its own worker thread (default: the number of cores, or of --accelerators entries)', positive)
    .option('--inline', 'run methods on the main event loop instead of threads (for async methods that mostly wait)', false)
    .option(
      '--accelerators <ids...>',
      "pin each task slot to a device: one child process per entry, started with CUDA_VISIBLE_DEVICES (and ROCm / Level Zero equivalents) set to it, e.g. '--accelerators 0 1 2 3', or '0,1 2,3' for 2-GPU slots",
    )
    .option('--password-file <file>', 'read the Redis password from a file (or set env COLMENA_REDIS_PASSWORD), keeping it out of ps')
    .option('--tls-ca <file>', 'PEM certificate(s) of the CA that signed the Redis server certificate')
    .option('--tls-cert <file>', 'PEM client certificate, if Redis asks for one')
    .option('--tls-key <file>', 'PEM key of the client certificate')
    .option(
      '--store <json>',
      'an object store that references may name, as JSON: {"kind":"file","id":"…","dir":"…"} or {"kind":"redis","id":"…","url":"…","prefix":"…"}; repeatable (env COLMENA_STORES: a JSON array)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--walltime <seconds>', "stop after this many seconds as on SIGTERM, finishing the tasks in hand (for a batch job's end)", positive)
    .option('--lock-ms <ms>', 'how long a job stays locked without renewal before other workers may take it over (default: 30000)', positive)
    .option('--stalled-interval-ms <ms>', 'how often to look for jobs whose worker died (default: 30000)', positive)
    .option('--max-stalled <n>', "times a job whose worker died is run again before it fails as 'worker-crashed' (default: 1)", nonNegative)
    .action(async (options: WorkerCommandOptions) => {
      await runWorker(options);
    });
}

/**
 * Run a worker until SIGTERM, SIGINT or its --walltime, then finish the tasks in hand and return. A second signal
 * abandons them to other workers.
 */
export async function runWorker(options: WorkerCommandOptions): Promise<void> {
  let worker: BullmqWorker;
  let lastProblem: string | null = null;
  try {
    worker = new BullmqWorker({
      url: options.redis,
      prefix: options.prefix,
      executor: options.executor,
      methods: options.methods,
      concurrency: options.concurrency,
      inline: options.inline,
      accelerators: options.accelerators,
      lockDurationMs: options.lockMs,
      stalledIntervalMs: options.stalledIntervalMs,
      maxStalledCount: options.maxStalled,
      redisOptions: redisOptions(options),
      stores: storeConfigs(options),
      // One line per kind of problem, so a worker started before Redis says what it waits for.
      onWaitingForRedis: (problem) => {
        if (problem.problem === lastProblem) return;
        lastProblem = problem.problem;
        process.stderr.write(`colmena worker: waiting for Redis at ${problem.url}: ${problem.message}\n`);
      },
    });
    await worker.start();
  } catch (error) {
    const message = (error as Error).message;
    const problem = error instanceof RedisConnectionError ? error.problem : null;
    const hint =
      problem === 'wrong-password'
        ? ' (wrong password: check --password-file, COLMENA_REDIS_PASSWORD or the password in --redis)'
        : problem === 'password-required' || /NOAUTH/.test(message)
          ? ` Redis at ${redactUrl(options.redis)} wants a password: put it in the URL, in a --password-file, or in COLMENA_REDIS_PASSWORD.`
          : '';
    process.stderr.write(`colmena worker: ${message}${hint}\n`);
    process.exitCode = 1;
    return;
  }
  console.log(
    `colmena worker ready: host ${hostname()} pid ${process.pid} serves ${worker.methodNames.join(', ')} ` +
      `on '${worker.executor}' (prefix '${worker.prefix}') at ${redactUrl(options.redis)}, ` +
      `${worker.concurrency} ${worker.inline ? 'at once on the event loop' : worker.accelerators.length > 0 ? `processes pinned to accelerators ${worker.accelerators.join(' ')}` : 'threads'}`,
  );
  await new Promise<void>((resolve, reject) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals | 'walltime'): void => {
      if (stopping) {
        // Their locks lapse and BullMQ's stall recovery hands the tasks to other workers.
        process.stderr.write(`colmena worker: ${signal} again, leaving the tasks in hand to other workers\n`);
        process.exit(1);
      }
      stopping = true;
      process.stderr.write(`colmena worker: ${signal}, finishing the tasks in hand (send it again to leave them to other workers)\n`);
      worker.close().then(() => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve();
      }, reject);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    if (options.walltime !== undefined) {
      const walltime = new Walltime({ deadline: Date.now() + options.walltime * 1000, signals: [] });
      stopAtWalltime(walltime, () => {
        walltime.dispose();
        if (!stopping) onSignal('walltime');
      });
    }
  });
  console.log(`colmena worker stopped: ${worker.tasksDone} task${worker.tasksDone === 1 ? '' : 's'} done`);
}

/** The stores of `--store` and `COLMENA_STORES`, each checked for the fields a store needs. */
function storeConfigs(options: WorkerCommandOptions): StoreConfig[] {
  const given: { source: string; text: string }[] = (options.store ?? []).map((text) => ({ source: '--store', text }));
  const env = process.env.COLMENA_STORES;
  const configs: unknown[] = [];
  if (env) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env);
    } catch {
      throw new InvalidArgumentError('COLMENA_STORES must be a JSON array of store configs, e.g. [{"kind":"file","id":"shared","dir":"/scratch/store"}]');
    }
    if (!Array.isArray(parsed)) throw new InvalidArgumentError('COLMENA_STORES must be a JSON array of store configs');
    configs.push(...parsed);
  }
  for (const { source, text } of given) {
    try {
      configs.push(JSON.parse(text));
    } catch {
      throw new InvalidArgumentError(`${source} must be JSON, e.g. {"kind":"file","id":"shared","dir":"/scratch/store"}`);
    }
  }
  return configs.map((config) => {
    const c = config as Partial<Record<string, unknown>> | null;
    const ok =
      typeof c === 'object' && c !== null && typeof c.id === 'string' &&
      ((c.kind === 'file' && typeof c.dir === 'string') || (c.kind === 'redis' && typeof c.url === 'string' && typeof c.prefix === 'string'));
    if (!ok) {
      throw new InvalidArgumentError(
        `A store config (--store or COLMENA_STORES) needs { kind: 'file', id, dir } or { kind: 'redis', id, url, prefix }; got kind ${JSON.stringify(c?.kind)} with fields ${Object.keys(c ?? {}).join(', ')}`,
      );
    }
    return c as StoreConfig;
  });
}

function redisOptions(options: WorkerCommandOptions): RedisOptions {
  const redis: RedisOptions = {};
  const password = options.passwordFile ? readFileSync(options.passwordFile, 'utf8').trim() : process.env.COLMENA_REDIS_PASSWORD;
  if (password) redis.password = password;
  if (options.tlsCa || options.tlsCert || options.tlsKey) {
    redis.tls = {
      ...(options.tlsCa && { ca: readFileSync(options.tlsCa) }),
      ...(options.tlsCert && { cert: readFileSync(options.tlsCert) }),
      ...(options.tlsKey && { key: readFileSync(options.tlsKey) }),
    };
  }
  return redis;
}
