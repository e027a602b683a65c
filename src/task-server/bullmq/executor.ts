import type { StopSignal } from '../../common/stop-signal.js';
import { randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { ColmenaTimeoutError, InvalidStateError, InvalidArgumentError, invalidArgument } from '../../common/errors.js';
import { DEFAULT_WIRE_LIMITS, setLongTimeout } from '../../common/limits.js';
import { childLogger, type Logger } from '../../common/logging.js';
import type { TaskPayload, TaskReply } from '../../methods/envelope.js';
import { abortReason, failedReply, type RunContext, workerInfo } from '../../methods/run.js';
import type { MethodSpec } from '../../methods/spec.js';
import type { FailureInformation } from '../../models/failure.js';
import { decodeJobProgress, decodeJobReturn, encodeJobData } from './codec.js';
import {
  type BullmqConnectionOptions,
  bullmqConnection,
  type CancelMessage,
  cancelChannel,
  checkQueueName,
  redactUrl,
  type ResolvedConnection,
  resolveConnection,
  untilRedisUsable,
} from './connection.js';
import { describeRedisFailure, openRedis, type RedisProblem } from '../../common/redis-connection.js';
import type { Executor } from '../executor.js';
import type { MethodKind } from '../fit.js';

export interface BullmqExecutorOptions extends BullmqConnectionOptions {
  /**
   * Events BullMQ keeps in the queue's event stream, from which this executor learns that jobs
   * ended. It must hold more events (about four per task) than can pile up while the task server
   * reads them, or a result is lost (and then reported as lost by the sweep).
   * @default 100_000
   */
  eventsMaxLen?: number;
  /**
   * How often to look for jobs that vanished from Redis without an ending event (Redis restarted
   * or flushed, events trimmed). A task whose job is missing on two sweeps in a row ends as a
   * failed Result instead of waiting forever.
   * @default 30_000
   */
  sweepIntervalMs?: number;
  /**
   * How long a finished job (and its reply) stays in Redis. Jobs are named by task id and attempt,
   * so a task server restarted with the same executor name within this time, re-running a task its
   * predecessor had sent, collects the reply of a job that finished meanwhile, or adopts a job
   * still waiting or running, instead of running it again. At most 100,000 finished jobs are kept.
   * @default 600
   */
  keepFinishedJobsSeconds?: number;
  /**
   * Most time a job may wait in Redis for a worker to start it (from when it is queued). Past it
   * the job is removed and the task ends as timed out without having started (reason `timeout`,
   * retried only if the retry policy names timeouts). A job a worker has started is not affected:
   * the task's own `timeoutMs` bounds its running time.
   * @default undefined (wait as long as it takes)
   */
  queueTimeoutMs?: number;
  /** @default a child of the library's logger named `executor.bullmq.<name>` */
  logger?: Logger;
}

interface Pending {
  resolve(reply: TaskReply): void;
  method: string;
  onIntermediate: RunContext['onIntermediate'];
  /** Set once the job is in Redis; only then can the sweep miss it. */
  queued: boolean;
  /** The sweep found no job once already. */
  missing: boolean;
  /** Clears the queueTimeoutMs timer. */
  clearWaitTimer?: () => void;
  /** Set while this executor removes the job for waiting past queueTimeoutMs, so its removal is a timeout. */
  waitExpired?: boolean;
}

interface Connected {
  redis: Redis;
  queue: Queue;
  events: QueueEvents;
}

const DEFAULT_EVENTS_MAX_LEN = 100_000;
const DEFAULT_SWEEP_INTERVAL_MS = 30_000;
const STALLED_REASON = 'job stalled more than allowable limit';
const PROBLEM_LOG_INTERVAL_MS = 30_000;
const DEFAULT_KEEP_FINISHED_SECONDS = 600;
const KEEP_FINISHED_COUNT = 100_000;
/** How long close() lets the stops of aborted jobs reach Redis before it disconnects anyway (Redis unreachable). */
const STOPS_GRACE_MS = 5_000;
/** Task ids that can name a job as they are (BullMQ ids cannot hold ':' nor be integers). */
const TASK_ID_AS_JOB_ID = /^[A-Za-z0-9_.-]{1,200}$/;

/**
 * Runs tasks on `colmena worker` processes anywhere that reaches Redis: the executor's name is a
 * BullMQ queue, each task becomes one job, and the job's end comes back through the queue's event
 * stream (QueueEvents), so jobs are removed as soon as they finish.
 *
 * Retries: method errors come back as failed replies, not failed jobs, so BullMQ's `attempts`
 * stays 1 and the task's `maxRetries` is the one retry budget. A worker that dies mid-task leaves
 * its job to BullMQ's stall recovery, which runs it again on another worker up to the workers'
 * `maxStalledCount` times; past that the job fails and the task gets a failed reply with reason
 * `worker-crashed`, which counts as one attempt against `maxRetries`.
 *
 * Timeouts: a task's `timeoutMs` rides in its job and the worker counts it from when it starts
 * the job, so the wait in Redis for a free worker does not count (the task server arms no timer:
 * {@link timesTasks}). Past it the worker stops the task (ending its processes with the kill
 * sweep) and answers with a failed reply of reason `timeout`. A job run again after its worker
 * died gets its full timeout again on the next worker.
 *
 * Cancellation and a server's `stop({ abortAfterMs })`: the reply comes at once; a job still
 * waiting is removed, and the worker running one is asked (over Redis pub/sub) to stop it, which
 * ends the task's processes with the kill sweep.
 *
 * @example
 * const server = new LocalTaskServer(queues, {
 *   methods: { simulate: remoteMethod<typeof simulate>({ executor: 'cpu' }) },
 *   executors: { cpu: new BullmqExecutor('cpu', { url: 'redis://head-node:6379', prefix: 'campaign-7' }) },
 * });
 */
export class BullmqExecutor implements Executor {
  readonly name: string;
  /** Functions cannot travel to a worker; workers load module and remote methods by export name. */
  readonly runs: readonly MethodKind[] = ['module-function', 'module-executable', 'remote'];
  /** The worker that takes a job times it: a job waiting in Redis for a free worker is not running. */
  readonly timesTasks = true;
  readonly prefix: string;
  readonly #connection: ResolvedConnection;
  readonly #eventsMaxLen: number;
  readonly #sweepIntervalMs: number;
  readonly #keepFinished: { age: number; count: number };
  readonly #queueTimeoutMs: number | null;
  readonly #logger: Logger;
  /** Job ids start with it, so two task servers sharing a queue never mix up their jobs. */
  readonly #instance = randomUUID();
  #sequence = 0;
  readonly #pending = new Map<string, Pending>();
  #connected: Promise<Connected> | null = null;
  /** Set while connecting too, so close() can end a connection that never becomes ready. */
  #redis: Redis | null = null;
  #queue: Queue | null = null;
  #events: QueueEvents | null = null;
  #sweepTimer: NodeJS.Timeout | null = null;
  #lastProblem: RedisProblem | null = null;
  #lastProblemAt = 0;
  #closing: Promise<void> | null = null;
  /** Stops of aborted jobs still on their way to Redis: close() lets them land before disconnecting. */
  readonly #stopping = new Set<Promise<void>>();
  #rejectClosed: (reason: Error) => void = () => {};
  /** Rejects when close() begins, ending any wait for Redis. */
  readonly #closed = new Promise<never>((_resolve, reject) => (this.#rejectClosed = reject));

  constructor(name: string, options: BullmqExecutorOptions = {}) {
    this.#closed.catch(() => {});
    this.name = checkQueueName(name, 'BullmqExecutor');
    this.#connection = resolveConnection(options, 'BullmqExecutor');
    this.prefix = this.#connection.prefix;
    this.#eventsMaxLen = positiveInteger(options.eventsMaxLen ?? DEFAULT_EVENTS_MAX_LEN, 'eventsMaxLen');
    this.#sweepIntervalMs = positiveInteger(options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS, 'sweepIntervalMs');
    this.#keepFinished = { age: positiveInteger(options.keepFinishedJobsSeconds ?? DEFAULT_KEEP_FINISHED_SECONDS, 'keepFinishedJobsSeconds'), count: KEEP_FINISHED_COUNT };
    this.#logger = options.logger ?? childLogger(`executor.bullmq.${name}`);
    const { queueTimeoutMs } = options;
    if (queueTimeoutMs !== undefined && !(typeof queueTimeoutMs === 'number' && queueTimeoutMs > 0 && queueTimeoutMs <= DEFAULT_WIRE_LIMITS.maxTimeoutMs)) {
      throw invalidArgument('BullmqExecutor', 'queueTimeoutMs', `a positive number of milliseconds up to ${DEFAULT_WIRE_LIMITS.maxTimeoutMs}`, queueTimeoutMs);
    }
    this.#queueTimeoutMs = queueTimeoutMs ?? null;
  }

  /** Tasks whose job has not ended yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Connect now rather than on the first task (optional). */
  async connect(): Promise<void> {
    await this.#connect();
  }

  async run(spec: MethodSpec, payload: TaskPayload, context: RunContext = {}): Promise<TaskReply> {
    const { signal } = context;
    if (this.#closing) return this.#failed(new InvalidStateError(`The BullMQ executor '${this.name}' is closed`), 'cancelled');
    if (signal?.aborted) return this.#failed(signal.reason, abortReason(signal));
    if (spec.kind === 'inline') {
      return this.#failed(
        new TypeError(
          `Method '${payload.method}' is an inline function, which cannot travel to a colmena worker. ` +
            `Declare it with remoteMethod({ executor: '${this.name}' }) and export it from the module the workers serve (--methods).`,
        ),
      );
    }
    const jobId = this.#jobId(context);
    const pending: Pending = {
      resolve: () => {},
      method: payload.method,
      onIntermediate: context.onIntermediate,
      queued: false,
      missing: false,
    };
    const reply = new Promise<TaskReply>((resolve) => (pending.resolve = resolve));
    // Registered before the job exists: its end may be read before `add` returns.
    this.#pending.set(jobId, pending);
    const onAbort = (): void => this.#abort(jobId, signal!);
    signal?.addEventListener('abort', onAbort, { once: true });
    // Not awaited: an abort or close() answers the task even while Redis is still out of reach.
    void this.#enqueue(jobId, spec, payload, pending, context);
    try {
      return await reply;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async #enqueue(jobId: string, spec: MethodSpec, payload: TaskPayload, pending: Pending, context: RunContext): Promise<void> {
    const { signal } = context;
    try {
      const data = encodeJobData(payload, spec.kind === 'module' ? spec.exportName : payload.method, context.taskId);
      const { queue } = await this.#connect();
      await queue.add(payload.method, data, { jobId });
      pending.queued = true;
      if (this.#queueTimeoutMs !== null && this.#pending.has(jobId)) {
        pending.clearWaitTimer = setLongTimeout(() => this.#expireWait(jobId, pending), this.#queueTimeoutMs, true);
      }
      if (signal?.aborted) this.#stopJob(jobId, signal);
    } catch (error) {
      if (this.#pending.has(jobId)) {
        this.#logger.warn({ err: error, method: payload.method }, 'could not queue a task');
        this.#settle(jobId, this.#failed(error));
      }
    }
  }

  /** For `await using`: the same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Stop listening. Tasks still waiting get a failed reply; their jobs stay queued in Redis. Tasks
   * aborted before (a server's `stop({ abortAfterMs })`, a cancel) have their jobs stopped first.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#rejectClosed(new InvalidStateError(`The BullMQ executor '${this.name}' is closed`));
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    for (const jobId of [...this.#pending.keys()]) {
      this.#settle(jobId, this.#failed(new InvalidStateError(`The BullMQ executor '${this.name}' closed before job ${jobId} ended`), 'cancelled'));
    }
    // A server's stop({ abortAfterMs }) aborts its tasks and closes the executor at once: without
    // this wait the worker would never hear that the job it runs was cancelled, and run it to the end.
    await this.#stopsLanded();
    // Ending our own connection first also ends a wait for Redis that would otherwise never finish.
    this.#redis?.disconnect();
    await Promise.allSettled([this.#events?.close(), this.#queue?.close(), this.#connected]);
  }

  #connect(): Promise<Connected> {
    if (this.#closing) return this.#closed;
    if (!this.#connected) {
      const connecting = this.#open();
      this.#connected = connecting;
      // A failed connection is not kept, so the next task tries again.
      connecting.catch(() => {
        if (this.#connected === connecting) this.#connected = null;
      });
    }
    return this.#connected;
  }

  async #open(): Promise<Connected> {
    const { url, prefix, redisOptions } = this.#connection;
    // Problems are logged by openRedis (rate-limited, password redacted).
    const redis = openRedis({ url, purpose: `bullmq-executor-${this.name}`, redisOptions, logger: this.#logger });
    this.#redis = redis;
    const queue = new Queue(this.name, {
      connection: redis,
      prefix,
      streams: { events: { maxLen: this.#eventsMaxLen } },
      defaultJobOptions: { attempts: 1, removeOnComplete: this.#keepFinished, removeOnFail: this.#keepFinished },
    });
    this.#queue = queue;
    queue.on('error', (error: Error) => this.#connectionError(error));
    try {
      // A wrong password or a TLS failure fails the tasks at once, saying so; Redis being down is waited through.
      await untilRedisUsable(redis, url, { stop: this.#closed });
      await Promise.race([queue.waitUntilReady(), this.#closed]);
      // Read the stream from its current end, rather than from '$' whenever the first XREAD
      // happens to be sent: a job ending in between would be missed.
      const [last] = await redis.xrevrange(queue.keys.events!, '+', '-', 'COUNT', 1);
      this.#throwIfClosed();
      const events = new QueueEvents(this.name, { connection: bullmqConnection(this.#connection), prefix, lastEventId: last?.[0] ?? '0-0' });
      this.#events = events;
      events.on('error', (error: Error) => this.#connectionError(error));
      events.on('completed', ({ jobId, returnvalue }) => this.#completed(jobId, returnvalue));
      events.on('failed', ({ jobId, failedReason }) => this.#jobFailed(jobId, failedReason));
      events.on('progress', ({ jobId, data }) => this.#progress(jobId, data));
      events.on('removed', ({ jobId }) => this.#removed(jobId));
      events.on('duplicated', ({ jobId }) => this.#adopt(jobId));
      await Promise.race([events.waitUntilReady(), this.#closed]);
      this.#sweepTimer = setInterval(() => void this.#sweep(queue, redis), this.#sweepIntervalMs);
      this.#sweepTimer.unref();
      this.#logger.debug({ url: redactUrl(url), prefix, queue: this.name }, 'connected');
      return { redis, queue, events };
    } catch (error) {
      // Leave nothing half-open; the next task connects afresh.
      redis.disconnect();
      await Promise.allSettled([this.#events?.close(), queue.close()]);
      this.#redis = this.#queue = this.#events = null;
      throw error;
    }
  }

  /**
   * A job named by task and attempt, so a restarted task server finds the job its predecessor
   * added; tasks without a usable id get one of this executor's own.
   */
  #jobId(context: RunContext): string {
    const { taskId, attempt = 0 } = context;
    if (typeof taskId === 'string' && TASK_ID_AS_JOB_ID.test(taskId)) {
      const jobId = `task-${taskId}-${attempt}`;
      if (!this.#pending.has(jobId)) return jobId;
    }
    return `${this.#instance}-${++this.#sequence}`;
  }

  /**
   * `add` found the job already there: a task server before this one (killed, restarted) sent it.
   * A job that has finished is answered from its stored reply; one still waiting or running is
   * adopted: its ending event will come, and it is not run again.
   */
  #adopt(jobId: string): void {
    if (!this.#pending.has(jobId)) return;
    void (async () => {
      const { queue } = await this.#connect();
      const state = await queue.getJobState(jobId);
      if (state !== 'completed' && state !== 'failed') {
        this.#logger.info({ jobId, state }, 'adopted a job a previous task server added');
        return;
      }
      const job = await Job.fromId(queue, jobId);
      this.#logger.info({ jobId, state }, 'collected a job that finished while no task server waited for it');
      if (state === 'completed') this.#completed(jobId, job?.returnvalue);
      else this.#jobFailed(jobId, job?.failedReason ?? 'unknown');
    })().catch((error: unknown) => this.#logger.warn({ err: error, jobId }, 'could not read a job a previous task server added'));
  }

  #throwIfClosed(): void {
    if (this.#closing) throw new InvalidStateError(`The BullMQ executor '${this.name}' is closed`);
  }

  #completed(jobId: string, value: unknown): void {
    const pending = this.#pending.get(jobId);
    if (!pending) return;
    let reply: TaskReply;
    try {
      reply = decodeJobReturn(value);
    } catch (error) {
      reply = this.#failed(error, 'invalid-message');
    }
    this.#settle(jobId, reply);
  }

  #progress(jobId: string, data: unknown): void {
    const pending = this.#pending.get(jobId);
    if (!pending?.onIntermediate) return;
    try {
      pending.onIntermediate(decodeJobProgress(data));
    } catch (error) {
      this.#logger.warn({ err: error, jobId, method: pending.method }, 'dropped a malformed streamed value');
    }
  }

  #jobFailed(jobId: string, failedReason: string): void {
    const pending = this.#pending.get(jobId);
    if (!pending) return;
    const why =
      failedReason === STALLED_REASON
        ? `its worker stopped while running it (killed, out of memory, or blocked past its lock) more often than the workers' maxStalledCount allows`
        : `BullMQ failed the job: ${failedReason}`;
    this.#logger.warn({ jobId, method: pending.method, failedReason }, 'a task failed on its worker');
    this.#settle(jobId, this.#failed(namedError('WorkerCrashedError', `Task '${pending.method}' did not finish on BullMQ queue '${this.name}': ${why}.`), 'worker-crashed'));
  }

  #removed(jobId: string): void {
    const pending = this.#pending.get(jobId);
    if (!pending) return;
    if (pending.waitExpired) {
      const error = new ColmenaTimeoutError(
        `a colmena worker to start the job of task '${pending.method}' on BullMQ queue '${this.name}' (BullmqExecutor queueTimeoutMs); it never started`,
        this.#queueTimeoutMs!,
      );
      this.#settle(jobId, this.#failed(error, 'timeout'));
      return;
    }
    const error = new InvalidStateError(
      `The BullMQ job of task '${pending.method}' was removed from queue '${this.name}' before it ended (queue.remove, clean, drain or obliterate).`,
    );
    this.#settle(jobId, this.#failed(error, 'cancelled'));
  }

  /**
   * queueTimeoutMs has passed: remove the job unless a worker holds it (BullMQ refuses to remove a
   * locked job). The task is answered by the job's `removed` event, which comes after any ending
   * event of a job that finished just before: a job that ran is never reported as never started.
   */
  #expireWait(jobId: string, pending: Pending): void {
    const connected = this.#connected;
    if (!connected || this.#pending.get(jobId) !== pending) return;
    pending.waitExpired = true;
    void (async () => {
      const { queue } = await connected;
      // 0: a worker has started it; only the task's timeoutMs bounds it now.
      if ((await queue.remove(jobId)) === 0) pending.waitExpired = false;
    })().catch((error: unknown) => {
      pending.waitExpired = false;
      this.#logger.warn({ err: error, jobId }, 'could not remove a job that waited past queueTimeoutMs');
    });
  }

  /** Answer an aborted task at once, then stop its job. */
  #abort(jobId: string, signal: StopSignal): void {
    const pending = this.#pending.get(jobId);
    if (!pending) return;
    this.#settle(jobId, this.#failed(signal.reason, abortReason(signal)));
    // A job still being added is stopped once `add` returns.
    if (pending.queued) this.#stopJob(jobId, signal);
  }

  /**
   * Remove the job if it is still waiting, else ask the worker running it to stop (the worker ends
   * the task's processes with the kill sweep). Uses the connection the job was added on, which
   * close() keeps open until this has been sent.
   */
  #stopJob(jobId: string, signal: StopSignal): void {
    const connected = this.#connected;
    if (!connected) return;
    const stopping = (async () => {
      const { queue, redis } = await connected;
      if ((await queue.remove(jobId)) === 1) return;
      const message: CancelMessage = { jobId, reason: abortReason(signal) === 'timeout' ? 'timeout' : 'cancelled', message: errorMessage(signal.reason) };
      await redis.publish(cancelChannel(this.prefix, this.name), JSON.stringify(message));
    })()
      .catch((error: unknown) => this.#logger.warn({ err: error, jobId }, 'could not stop the job of an aborted task'))
      .finally(() => this.#stopping.delete(stopping));
    this.#stopping.add(stopping);
  }

  /** Resolves once every stop sent so far has reached Redis, or after STOPS_GRACE_MS if Redis is out of reach. */
  async #stopsLanded(): Promise<void> {
    if (this.#stopping.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOPS_GRACE_MS)));
    try {
      await Promise.race([Promise.allSettled([...this.#stopping]), grace]);
    } finally {
      clearTimeout(timer);
    }
    if (this.#stopping.size > 0) this.#logger.warn({ jobs: this.#stopping.size }, 'closed before the workers could be told to stop some aborted jobs');
  }

  /** The safety net: a job gone without an ending event would otherwise be waited on forever. */
  async #sweep(queue: Queue, redis: Redis): Promise<void> {
    const queued = [...this.#pending].filter(([, pending]) => pending.queued);
    if (queued.length === 0) return;
    let exists: (number | null)[];
    try {
      const pipeline = redis.pipeline();
      for (const [jobId] of queued) pipeline.exists(queue.toKey(jobId));
      exists = ((await pipeline.exec()) ?? []).map(([error, count]) => (error ? null : (count as number)));
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not check the jobs of pending tasks');
      return;
    }
    queued.forEach(([jobId, pending], index) => {
      if (exists[index] !== 0) {
        pending.missing = false;
      } else if (!pending.missing) {
        // Its ending event may still be on its way: decide on the next sweep.
        pending.missing = true;
      } else {
        this.#logger.warn({ jobId, method: pending.method }, 'a job vanished without an ending event');
        const error = namedError(
          'LostJobError',
          `The BullMQ job of task '${pending.method}' vanished from queue '${this.name}' without an ending event ` +
            `(Redis restarted or was flushed, or the event stream was trimmed: raise eventsMaxLen).`,
        );
        this.#settle(jobId, this.#failed(error, 'worker-crashed'));
      }
    });
  }

  #settle(jobId: string, reply: TaskReply): void {
    const pending = this.#pending.get(jobId);
    if (!pending) return;
    this.#pending.delete(jobId);
    pending.clearWaitTimer?.();
    pending.resolve(reply);
  }

  #failed(error: unknown, reason?: FailureInformation['reason']): TaskReply {
    return failedReply(workerInfo(this.name), error, reason);
  }

  /** BullMQ's own connections report each retry: one line per kind of problem every 30 s at most. */
  #connectionError(error: Error): void {
    if (this.#closing) return;
    const described = describeRedisFailure(error, this.#connection.url);
    const now = Date.now();
    if (described.problem === this.#lastProblem && now - this.#lastProblemAt < PROBLEM_LOG_INTERVAL_MS) return;
    this.#lastProblem = described.problem;
    this.#lastProblemAt = now;
    this.#logger.warn({ url: described.url, problem: described.problem }, described.message);
  }
}

function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

function errorMessage(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`BullmqExecutor: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}
