import { hostname, availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { InvalidStateError, TaskCancelledError, TaskTimeoutError, InvalidArgumentError } from '../../common/errors.js';
import { childLogger, type Logger } from '../../common/logging.js';
import { setLongTimeout } from '../../common/limits.js';
import { TaskStop } from '../../common/stop-signal.js';
import { isExecutableMethod } from '../../methods/executable.js';
import { loadModuleMethod } from '../../methods/load.js';
import type { TaskPayload, TaskReply } from '../../methods/envelope.js';
import { failedReply, type RunContext, runMethod, workerInfo } from '../../methods/run.js';
import { moduleMethod } from '../../methods/spec.js';
import { type DecodedJob, decodeJobData, encodeJobProgress, encodeJobReturn, JOB_FORMAT, type JobFormat, type TaskJobReturn } from './codec.js';
import {
  type BullmqConnectionOptions,
  bullmqConnection,
  type CancelMessage,
  cancelChannel,
  checkQueueName,
  type ResolvedConnection,
  resolveConnection,
  untilRedisUsable,
} from './connection.js';
import { openRedis, type RedisConnectionError } from '../../common/redis-connection.js';
import { ThreadsExecutor } from '../executors/threads.js';
import { ProcessesExecutor } from '../executors/processes.js';
import { acceleratorGroups, devicesAsked, unfitDevices } from '../executors/accelerators.js';
import type { ObjectStore, StoreConfig } from '../../proxy/store.js';
import { openConfiguredStores } from '../../proxy/configured-stores.js';
import { processStores } from '../../proxy/store-registry.js';

export interface BullmqWorkerOptions extends BullmqConnectionOptions {
  /** The executor (BullMQ queue) to serve, e.g. `cpu`; the task server names the same one. */
  executor: string;
  /** The module whose function exports are the methods served: a path (relative to the working directory) or a `file:` URL. */
  methods: string | URL;
  /** Tasks run at once. @default the number of `accelerators` entries, else the machine's available parallelism */
  concurrency?: number;
  /**
   * Accelerators of this host to pin tasks to, one entry per task slot (Parsl's
   * `available_accelerators`): every method, function or executable, then runs in one of
   * `accelerators.length` child processes, each started with CUDA_VISIBLE_DEVICES,
   * ROCR_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES and ZE_AFFINITY_MASK set to its entry (a device id,
   * or `'0,1'` for several). Matching is the processes executor's: a task needing
   * `gpusPerRank × cpuProcesses` devices takes the smallest free slot holding that many, or fails
   * at once if no slot does; the ids are on the result's worker info (`gpu_ids`). `concurrency`,
   * if given, must equal the number of entries; not with `inline`.
   * @default none: no pinning, and a task asking for GPUs fails
   */
  accelerators?: readonly string[];
  /**
   * Run methods on this process's event loop rather than on `concurrency` worker threads: cheaper
   * for async methods that mostly wait (I/O). A synchronous method longer than half of
   * `lockDurationMs` then delays lock renewal and its job is taken for stalled. Executables
   * (ExecutableMethod exports) always run on the event loop: spawning does not block it.
   * @default false
   */
  inline?: boolean;
  /** How long a job stays locked to this worker without renewal before others may take it over. @default 30_000 */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died. @default 30_000 */
  stalledIntervalMs?: number;
  /** How many times a job whose worker died is run again before it fails as 'worker-crashed'. @default 1 */
  maxStalledCount?: number;
  /**
   * Object stores that references in tasks may name (by id): opened at start, in this process and
   * in its worker threads. A reference to a store not listed here fails its task naming the id.
   * @default []
   */
  stores?: readonly StoreConfig[];
  /**
   * Called while start() waits for Redis (down, restarting), about every 2 s, with what is wrong.
   * A wrong or missing password or a TLS failure is not waited through: start() rejects saying so.
   */
  onWaitingForRedis?: (problem: RedisConnectionError) => void;
  /** @default a child of the library's logger named `worker.<executor>` */
  logger?: Logger;
}

type Runner = (payload: TaskPayload, context: RunContext) => Promise<TaskReply>;
type State = 'created' | 'starting' | 'running' | 'closing' | 'closed';

const HOST = hostname();

/**
 * Serves the function exports of a module as Colmena methods on one BullMQ queue: the other half
 * of {@link BullmqExecutor}, and what `colmena worker` runs. Any number of workers, on any hosts
 * that reach Redis, can serve one queue; each job goes to one of them.
 *
 * @example
 * const worker = await new BullmqWorker({ url, prefix: 'campaign-7', executor: 'cpu', methods: './dist/methods.js' }).start();
 * process.once('SIGTERM', () => void worker.close());
 */
export class BullmqWorker {
  readonly executor: string;
  readonly concurrency: number;
  readonly inline: boolean;
  /** Device set of each task slot (empty without pinning). */
  readonly accelerators: readonly string[];
  readonly moduleUrl: string;
  readonly #connection: ResolvedConnection;
  readonly #options: BullmqWorkerOptions;
  readonly #logger: Logger;
  readonly #runners = new Map<string, Runner>();
  #threads: ThreadsExecutor | null = null;
  /** With accelerators: the pinned child processes every method runs in. */
  #pinned: ProcessesExecutor | null = null;
  #stores: ObjectStore[] = [];
  #rejectClosed: (reason: Error) => void = () => {};
  /** Rejects when close() begins, ending any wait for Redis. */
  readonly #closed = new Promise<never>((_resolve, reject) => (this.#rejectClosed = reject));
  #worker: Worker<unknown, TaskJobReturn> | null = null;
  #cancels: Redis | null = null;
  #state: State = 'created';
  #closing: Promise<void> | null = null;
  #tasksDone = 0;

  constructor(options: BullmqWorkerOptions) {
    this.#closed.catch(() => {});
    this.executor = checkQueueName(options.executor, 'BullmqWorker');
    this.#connection = resolveConnection(options, 'BullmqWorker');
    const groups = options.accelerators === undefined ? null : acceleratorGroups(options.accelerators, 'BullmqWorker');
    this.concurrency = positiveInteger(options.concurrency ?? groups?.length ?? availableParallelism(), 'concurrency');
    if (groups && groups.length !== this.concurrency) {
      throw new InvalidArgumentError(
        `BullmqWorker: concurrency (${this.concurrency}) must equal the number of accelerators entries (${groups.length}), one task slot per entry; leave concurrency out`,
      );
    }
    if (groups && options.inline) {
      throw new InvalidArgumentError('BullmqWorker: inline cannot pin tasks to accelerators (one event loop, one environment); drop inline, or accelerators');
    }
    this.accelerators = groups?.map((ids) => ids.join(',')) ?? [];
    for (const name of ['lockDurationMs', 'stalledIntervalMs'] as const) {
      if (options[name] !== undefined) positiveInteger(options[name], name);
    }
    if (options.maxStalledCount !== undefined && !(Number.isInteger(options.maxStalledCount) && options.maxStalledCount >= 0)) {
      throw new InvalidArgumentError(`BullmqWorker: maxStalledCount must be a non-negative integer, got ${String(options.maxStalledCount)}`);
    }
    this.inline = options.inline ?? false;
    this.moduleUrl = moduleUrl(options.methods);
    this.#options = options;
    this.#logger = options.logger ?? childLogger(`worker.${this.executor}`);
  }

  get prefix(): string {
    return this.#connection.prefix;
  }

  get state(): State {
    return this.#state;
  }

  /** The methods served, by export name (known once started). */
  get methodNames(): string[] {
    return [...this.#runners.keys()];
  }

  /** Tasks answered so far. */
  get tasksDone(): number {
    return this.#tasksDone;
  }

  /** Load the methods and start taking jobs; resolves once connected to Redis. */
  async start(): Promise<this> {
    if (this.#state !== 'created') throw new InvalidStateError(`start() needs a new worker; this one is ${this.#state}`);
    this.#state = 'starting';
    try {
      // Before the thread pool starts: its threads get the configs of the stores open by then.
      const configs = this.#options.stores ?? [];
      const fresh = new Set(configs.filter((config) => !processStores.has(config.id)).map((config) => config.id));
      // Only the stores opened here are closed here; others belong to whoever opened them.
      this.#stores = (await openConfiguredStores(configs)).filter((store) => fresh.has(store.id));
      await this.#loadMethods();
      // First the cancel channel: it waits for Redis, saying why, and fails at once on a wrong password.
      await this.#listenForCancels();
      this.#worker = new Worker<unknown, TaskJobReturn>(this.executor, (job, _token, signal) => this.#process(job, signal), {
        connection: bullmqConnection(this.#connection),
        prefix: this.#connection.prefix,
        name: `${HOST}:${process.pid}`,
        concurrency: this.concurrency,
        // BullMQ's defaults give way to undefined values, so only set what was given.
        ...defined({
          lockDuration: this.#options.lockDurationMs,
          stalledInterval: this.#options.stalledIntervalMs,
          maxStalledCount: this.#options.maxStalledCount,
        }),
        removeOnComplete: { count: 0 },
        removeOnFail: { count: 0 },
      });
      this.#worker.on('error', (error: Error) => {
        if (this.#state === 'running') this.#logger.warn({ err: error }, 'BullMQ worker error');
      });
      await Promise.race([this.#worker.waitUntilReady(), this.#closed]);
    } catch (error) {
      await this.close({ force: true }).catch(() => {});
      throw error;
    }
    if (this.#state === 'starting') this.#state = 'running';
    this.#logger.info({ methods: this.methodNames, executor: this.executor, concurrency: this.concurrency, accelerators: this.accelerators }, 'worker started');
    return this;
  }

  /** For `await using`: the same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Stop taking jobs and finish the tasks in hand (or, with `force`, abandon them to other
   * workers' stall recovery), then release threads and connections. Same promise when repeated.
   */
  close(options: { force?: boolean } = {}): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closing';
      this.#rejectClosed(new InvalidStateError('The worker was closed while starting'));
      try {
        await this.#worker?.close(options.force ?? false);
      } finally {
        this.#cancels?.disconnect();
        await Promise.all([this.#threads?.close(), this.#pinned?.close()]);
        await Promise.allSettled(
          this.#stores.map((store) => {
            processStores.remove(store);
            return store.close();
          }),
        );
        this.#state = 'closed';
      }
    })();
    return this.#closing;
  }

  async #loadMethods(): Promise<void> {
    let namespace: Record<string, unknown>;
    try {
      namespace = (await import(this.moduleUrl)) as Record<string, unknown>;
    } catch (error) {
      const hint = /\.[cm]?ts$/.test(this.moduleUrl) ? ' To serve TypeScript, build it to JavaScript or run node with --import tsx.' : '';
      throw new TypeError(`Cannot load the methods module ${this.moduleUrl}: ${(error as Error).message}.${hint}`, { cause: error });
    }
    const names = Object.keys(namespace).filter((name) => typeof namespace[name] === 'function' || isExecutableMethod(namespace[name]));
    if (names.length === 0) {
      throw new TypeError(
        `The methods module ${this.moduleUrl} exports no functions or ExecutableMethods; colmena worker serves a module's exports as methods.`,
      );
    }
    const inline = workerInfo('inline');
    for (const name of names) {
      if (this.accelerators.length > 0) {
        // Device variables are per process: only a child started with them pins a task.
        this.#pinned ??= new ProcessesExecutor(`bullmq-${this.executor}`, { accelerators: this.accelerators });
        const pinned = this.#pinned;
        const spec = moduleMethod(this.moduleUrl, name);
        this.#runners.set(name, (payload, context) => pinned.run(spec, payload, context));
      } else if (this.inline || isExecutableMethod(namespace[name])) {
        const target = await loadModuleMethod(this.moduleUrl, name);
        this.#runners.set(name, (payload, context) => runMethod(target, payload, inline, context));
      } else {
        this.#threads ??= new ThreadsExecutor(`bullmq-${this.executor}`, { threads: this.concurrency });
        const threads = this.#threads;
        const spec = moduleMethod(this.moduleUrl, name);
        this.#runners.set(name, (payload, context) => threads.run(spec, payload, context));
      }
    }
  }

  /** The task server asks, over pub/sub, to stop jobs it no longer waits for (cancelled, timed out). */
  async #listenForCancels(): Promise<void> {
    const { url, prefix, redisOptions } = this.#connection;
    // Problems are logged by openRedis (rate-limited, password redacted).
    this.#cancels = openRedis({ url, purpose: `bullmq-worker-${this.executor}-cancels`, blocking: true, redisOptions, logger: this.#logger });
    await untilRedisUsable(this.#cancels, url, { stop: this.#closed, onWaiting: this.#options.onWaitingForRedis });
    this.#cancels.on('message', (_channel: string, text: string) => {
      let message: CancelMessage;
      try {
        message = JSON.parse(text) as CancelMessage;
      } catch {
        return;
      }
      const reason = message.reason === 'timeout' ? new TaskTimeoutError(message.jobId, NaN) : new TaskCancelledError(message.jobId);
      reason.message = message.message;
      this.#worker?.cancelJob(message.jobId, reason as never);
    });
    await this.#cancels.subscribe(cancelChannel(prefix, this.executor));
  }

  async #process(job: Job<unknown, TaskJobReturn>, signal: AbortSignal | undefined): Promise<TaskJobReturn> {
    let decoded: DecodedJob;
    try {
      decoded = decodeJobData(job.data);
    } catch (error) {
      this.#tasksDone++;
      return encodeJobReturn(failedReply(workerInfo(this.executor), error, 'invalid-message'), replyFormat(job.data));
    }
    const { format, payload } = decoded;
    // Streamed values are sent in order, and all before the reply.
    let streamed = Promise.resolve();
    const stop = new TaskStop();
    const onAbort = (): void => stop.abort(signal!.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    // The task's running time starts now, when this worker has taken the job, not while it waited in Redis.
    const { timeoutMs } = payload;
    const taskId = decoded.taskId ?? String(job.id);
    const clearTimer = timeoutMs === undefined ? undefined : setLongTimeout(() => stop.abort(new TaskTimeoutError(taskId, timeoutMs)), timeoutMs);
    const context: RunContext = {
      signal: stop,
      onIntermediate: (item) => {
        streamed = streamed.then(() => job.updateProgress(encodeJobProgress(item, format))).catch((error: unknown) => {
          this.#logger.warn({ err: error, jobId: job.id }, 'could not send a streamed value');
        });
      },
    };
    let reply: TaskReply;
    try {
      reply = await this.#reply(decoded, context);
    } finally {
      clearTimer?.();
      signal?.removeEventListener('abort', onAbort);
    }
    if (reply.failure?.reason === 'timeout' && stop.reason instanceof TaskTimeoutError) {
      this.#logger.info({ jobId: job.id, method: payload.method, timeoutMs }, 'a task ran past its timeout and was stopped');
    }
    await streamed;
    this.#tasksDone++;
    return encodeJobReturn(reply, format);
  }

  #reply({ exportName, payload }: DecodedJob, context: RunContext): Promise<TaskReply> | TaskReply {
    const run = this.#runners.get(exportName);
    if (!run) {
      const error = new Error(
        `Method '${exportName}' is not served by the colmena worker on ${HOST} (pid ${process.pid}) for '${this.executor}'. ` +
          `It serves: ${this.methodNames.join(', ')} from ${this.moduleUrl}. ` +
          `Export '${exportName}' from that module, or start the workers of '${this.executor}' with a --methods module that does.`,
      );
      error.name = 'UnknownMethodError';
      return failedReply(workerInfo(this.executor), error, 'unknown-method');
    }
    // Pinned children check their own devices; anywhere else a GPU asked for would be silently missing.
    const unfit = this.#pinned ? null : unfitDevices(payload.method, devicesAsked(payload), 0, this.executor);
    if (unfit) return failedReply(workerInfo(this.executor), unfit);
    return run(payload, context);
  }
}

/** The format to answer a job that cannot be read in: an older server's own, else this release's. */
function replyFormat(data: unknown): JobFormat {
  return (data as { format?: unknown } | null)?.format === 2 ? 2 : JOB_FORMAT;
}

function moduleUrl(methods: string | URL): string {
  if (methods instanceof URL) return methods.href;
  if (typeof methods !== 'string' || methods.length === 0) throw new InvalidArgumentError('BullmqWorker: methods must name a module (a path or a file: URL)');
  if (/^(file|data):/.test(methods)) return methods;
  return pathToFileURL(isAbsolute(methods) ? methods : resolve(methods)).href;
}

function defined<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`BullmqWorker: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}
