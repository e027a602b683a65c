import { ColmenaTimeoutError, invalidArgument, InvalidStateError, SerializationError, TaskCancelledError, TaskTimeoutError } from '../common/errors.js';
import { type Logger, childLogger } from '../common/logging.js';
import { failedReply, type IntermediateReply, type RunContext, type TaskReply, workerInfo } from '../methods/run.js';
import { nowSeconds } from '../models/clock.js';
import { Result } from '../models/result.js';
import { encodedSize } from '../models/serialization.js';
import type { ColmenaQueues, ServerMessage } from '../queue/base.js';
import { Emitter } from '../common/emitter.js';
import { TaskStop } from '../common/stop-signal.js';
import { DEFAULT_WIRE_LIMITS, MAX_TIMER_MS, setLongTimeout, type WireLimits } from '../common/limits.js';
import { failureFromError } from '../models/failure.js';
import type { ExecutorSlots } from './executor-slots.js';
import { isRetryable, type ResolvedRetryPolicy, resolveRetryPolicy, retryDelayMs, type RetryPolicy } from './retry-policy.js';

/** What observers of a task server can subscribe to. */
export interface TaskServerEvents {
  /** Ready to take tasks; `at` is when `start()` was called (epoch seconds), before any preparation. */
  started: { methods: readonly string[]; at: number };
  /** A task's final result was sent. */
  result: Result;
  stopped: { reason: 'kill-signal' | 'stop' | 'queues-closed' | 'idle' };
}

export interface TaskServerOptions {
  /** @default a child of the library's logger named `task-server` */
  logger?: Logger;
  /**
   * Most tasks taken off the request channel and not yet answered. Requests beyond it stay on the
   * channel (in Redis, for other servers to take), so a crash loses no more than this many leases
   * and a task's `timeoutMs` is not spent waiting on the request channel. Tasks in the window
   * beyond what an executor with a declared `capacity` runs at once wait in the server (first come
   * first served, still cancellable) and their `timeoutMs` starts only when they get a slot; an
   * executor without a capacity (BullMQ) is handed every task at once.
   * @default twice what the executors run at once, at least 64 (64 when unknown)
   */
  window?: number;
  /**
   * Most time a task may wait in this server for a free slot on its executor (per attempt, from
   * when it is taken or its retry is due); past it the task ends as timed out without having
   * started. Counted apart from the task's own `timeoutMs`, which bounds running time only.
   * @default undefined (wait as long as it takes)
   */
  queueTimeoutMs?: number;
  /** Backoff and filter for retries. */
  retry?: RetryPolicy;
  /** Bounds on what a request may ask for (retries cap, longest timeout, early cancels). */
  limits?: Partial<WireLimits>;
  /**
   * Stop (as if by the kill signal) once no task has been in hand for this long, e.g. a server in
   * a batch job that should give its allocation back when the campaign is over.
   * @default undefined (serve until stopped)
   */
  idleTimeoutMs?: number;
}

type State = 'created' | 'running' | 'stopping' | 'stopped';

/** Pause after an unexpected transport error before reading again, so a broken link does not spin. */
const RETRY_READ_MS = 100;
/** Tries to send one result before giving up on it (backing off up to 5 s between tries). */
const SEND_ATTEMPTS = 8;
/** Window of a server whose subclass does not say what its executors can run at once. */
const DEFAULT_WINDOW = 64;

/**
 * The listen loop every task server shares: take requests, answer what cannot run (unknown
 * method, malformed message, Python pickle) at once, run the rest through {@link execute} with
 * retries, and send each task's final result. The kill signal (or {@link stop}) ends intake; tasks
 * in hand finish and their results are sent before {@link join} resolves.
 */
export abstract class BaseTaskServer {
  readonly queues: ColmenaQueues;
  protected readonly logger: Logger;
  #state: State = 'created';
  #loop: Promise<void> | null = null;
  readonly #inFlight = new Set<Promise<void>>();
  /** Stop triggers of the tasks being run, by task id. */
  readonly #running = new Map<string, TaskStop>();
  /** Cancel requests that arrived before their task (or after it finished). */
  readonly #cancelledEarly = new Set<string>();
  readonly #intake = new TaskStop();
  #stopReason: TaskServerEvents['stopped']['reason'] = 'kill-signal';
  /** Observers: `server.events.on('result', ...)`; listeners must be cheap. */
  readonly events: Emitter<TaskServerEvents>;
  readonly #windowOption: number | undefined;
  /** {@link window}, worked out on first read (the executors are fixed by then) rather than on each request. */
  #window: number | undefined;
  readonly #retry: ResolvedRetryPolicy;
  readonly #limits: WireLimits;
  /** Wakes the intake loop when a task in hand is answered and the window has room again. */
  #roomWaiter: (() => void) | null = null;
  readonly #idleTimeoutMs: number | null;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #queueTimeoutMs: number | null;

  constructor(queues: ColmenaQueues, options: TaskServerOptions = {}) {
    this.queues = queues;
    this.logger = options.logger ?? childLogger('task-server');
    if (options.window !== undefined && !(Number.isSafeInteger(options.window) && options.window >= 1)) {
      throw invalidArgument('task server', 'window', 'a whole number of tasks, at least 1', options.window);
    }
    this.#windowOption = options.window;
    if (options.idleTimeoutMs !== undefined && !(options.idleTimeoutMs > 0 && options.idleTimeoutMs <= MAX_TIMER_MS)) {
      throw invalidArgument('task server', 'idleTimeoutMs', `a positive number of milliseconds up to ${MAX_TIMER_MS}`, options.idleTimeoutMs);
    }
    this.#idleTimeoutMs = options.idleTimeoutMs ?? null;
    this.#limits = { ...DEFAULT_WIRE_LIMITS, ...options.limits };
    if (options.queueTimeoutMs !== undefined && !(options.queueTimeoutMs > 0 && options.queueTimeoutMs <= this.#limits.maxTimeoutMs)) {
      throw invalidArgument('task server', 'queueTimeoutMs', `a positive number of milliseconds up to ${this.#limits.maxTimeoutMs} (limits.maxTimeoutMs)`, options.queueTimeoutMs);
    }
    this.#queueTimeoutMs = options.queueTimeoutMs ?? null;
    this.#retry = resolveRetryPolicy(options.retry, this.#limits.maxRetries);
    this.events = new Emitter<TaskServerEvents>((error, event) => this.logger.error({ err: error, event }, 'a task server observer failed'));
  }

  /** Names of the methods this server runs. */
  abstract get methodNames(): readonly string[];
  /** Run one attempt of a task whose method is known to be served. */
  protected abstract execute(task: Result, context: RunContext): Promise<TaskReply>;
  /** Release executors once the last task is done. */
  protected abstract shutdown(): Promise<void>;
  /** Checks and loading before the first request is taken; a rejection stops the server and rejects {@link join}. */
  protected async prepare(): Promise<void> {}
  /**
   * The slots of the executor `task` runs on, taken before each attempt is handed over (its
   * timeout starts then); `null` hands the task over at once (an executor with no declared capacity).
   */
  protected slotsFor(_task: Result): ExecutorSlots | null {
    return null;
  }

  /** Whether `task`'s executor times it where it runs (`Executor.timesTasks`); the server then arms no timer for it. */
  protected timedByExecutor(_task: Result): boolean {
    return false;
  }

  get state(): State {
    return this.#state;
  }

  /** Tasks taken off the queue and not yet answered. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Most tasks taken and not yet answered (see {@link TaskServerOptions.window}). */
  get window(): number {
    return (this.#window ??= this.#windowOption ?? this.defaultWindow());
  }

  /** What the executors can run at once, times two; subclasses that know their executors say so. */
  protected defaultWindow(): number {
    return DEFAULT_WINDOW;
  }

  /** Begin serving. */
  start(): this {
    if (this.#state !== 'created') throw new InvalidStateError(`start() needs a new task server; this one is ${this.#state}`);
    this.#state = 'running';
    this.#loop = this.#listen(nowSeconds());
    return this;
  }

  /** Resolve when the server has stopped and every task it took has been answered. */
  join(): Promise<void> {
    if (!this.#loop) throw new InvalidStateError('join() before start(): call start() or run() first');
    return this.#loop;
  }

  /** Serve until the kill signal arrives. */
  run(): Promise<void> {
    return this.start().join();
  }

  /** For `await using`: the same as `stop()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Stop taking requests, finish the tasks in hand, and resolve when all are answered. With
   * `abortAfterMs`, tasks still running after that long are cancelled (each still gets its result).
   */
  stop(options: { abortAfterMs?: number } = {}): Promise<void> {
    if (this.#state === 'created') {
      this.#state = 'stopped';
      return this.shutdown();
    }
    this.#intake.abort(new InvalidStateError('The task server is stopping'));
    if (options.abortAfterMs !== undefined) {
      const timer = setTimeout(() => {
        for (const [taskId, controller] of this.#running) controller.abort(new TaskCancelledError(taskId));
      }, options.abortAfterMs);
      void this.join().finally(() => clearTimeout(timer));
    }
    return this.join();
  }

  async #listen(startedAt: number): Promise<void> {
    try {
      try {
        await this.prepare();
      } catch (error) {
        this.#stopReason = 'stop';
        this.logger.error({ err: error }, 'the task server cannot start');
        throw error;
      }
      this.logger.info({ methods: this.methodNames }, 'task server started');
      this.events.emit('started', { methods: this.methodNames, at: startedAt });
      this.#armIdleTimer();
      for (;;) {
        let message: ServerMessage;
        try {
          if (this.#inFlight.size >= this.window) await this.#roomInWindow();
          if (this.#intake.aborted) throw this.#intake.reason;
          message = await this.queues.getTask({ signal: this.#intake, room: this.window - this.#inFlight.size });
        } catch (error) {
          if (this.#intake.aborted || this.queues.closed) {
            if (this.#stopReason !== 'idle') this.#stopReason = this.#intake.aborted ? 'stop' : 'queues-closed';
            break;
          }
          this.logger.error({ err: error }, 'reading the request channel failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, RETRY_READ_MS));
          continue;
        }
        if (message.kind === 'kill') {
          this.logger.info({ inFlight: this.#inFlight.size }, 'kill signal received; finishing tasks in hand');
          break;
        }
        if (message.kind === 'cancel') {
          this.#cancel(message.taskId);
          continue;
        }
        const done = this.#handle(message).finally(() => {
          this.#inFlight.delete(done);
          this.#roomWaiter?.();
          if (this.#inFlight.size === 0) this.#armIdleTimer();
        });
        this.#inFlight.add(done);
        clearTimeout(this.#idleTimer);
      }
      this.#state = 'stopping';
      while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
    } finally {
      clearTimeout(this.#idleTimer);
      this.#state = 'stopped';
      await this.shutdown();
      this.logger.info({ reason: this.#stopReason }, 'task server stopped');
      this.events.emit('stopped', { reason: this.#stopReason });
    }
  }

  /** With `idleTimeoutMs`, stop intake once nothing has been in hand for that long. */
  #armIdleTimer(): void {
    if (this.#idleTimeoutMs === null || this.#intake.aborted) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      if (this.#inFlight.size > 0) return;
      this.logger.info({ idleTimeoutMs: this.#idleTimeoutMs }, 'idle for idleTimeoutMs; stopping');
      this.#stopReason = 'idle';
      this.#intake.abort(new InvalidStateError('The task server stopped after idleTimeoutMs with nothing to do'));
    }, this.#idleTimeoutMs);
  }

  /** Wait until a task in hand is answered, or intake stops. */
  #roomInWindow(): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        this.#roomWaiter = null;
        this.#intake.removeEventListener('abort', wake);
        resolve();
      };
      this.#roomWaiter = wake;
      this.#intake.addEventListener('abort', wake);
    });
  }

  #cancel(taskId: string): void {
    const controller = this.#running.get(taskId);
    if (controller) {
      controller.abort(new TaskCancelledError(taskId));
      return;
    }
    this.#cancelledEarly.add(taskId);
    if (this.#cancelledEarly.size > this.#limits.maxEarlyCancels) {
      this.#cancelledEarly.delete(this.#cancelledEarly.values().next().value!);
    }
  }

  async #handle(message: Extract<ServerMessage, { kind: 'task' | 'malformed' }>): Promise<void> {
    if (message.kind === 'malformed') return this.#answerMalformed(message);
    const task = message.task;
    task.timestamp.inputReceived = nowSeconds();
    if (task.maxRetries > this.#retry.maxRetriesCap) {
      this.logger.warn({ taskId: task.taskId, asked: task.maxRetries, cap: this.#retry.maxRetriesCap }, 'capping max_retries');
      task.maxRetries = this.#retry.maxRetriesCap;
    }
    try {
      const refusal = this.#refusal(task);
      if (refusal) {
        task.fail(refusal);
      } else if (this.#cancelledEarly.delete(task.taskId)) {
        task.fail(failureFromError(new TaskCancelledError(task.taskId), 'cancelled'));
      } else {
        try {
          await this.#attempts(task);
        } finally {
          this.#running.delete(task.taskId);
        }
      }
      task.applyKeepInputs();
      await this.#sendWithRetries(task);
      this.events.emit('result', task);
    } catch (error) {
      this.logger.error({ err: error, taskId: task.taskId, method: task.method }, 'could not send the result of a task');
    }
  }

  /** A result is the only trace of a task: ride out a transport outage rather than drop it. */
  async #sendWithRetries(result: Result): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.queues.sendResult(result);
      } catch (error) {
        if (error instanceof SerializationError && result.success !== false) {
          // Every task taken is answered once: a result that cannot be encoded becomes a failure that can.
          this.logger.warn({ err: error, taskId: result.taskId }, 'the result cannot be encoded; answering with a failure');
          result.fail(failureFromError(error));
          // Drop what may be what cannot be encoded; the failure says why.
          result.taskInfo = {};
          result.inputs = [[], {}];
          continue;
        }
        if (attempt >= SEND_ATTEMPTS || this.queues.closed) throw error;
        this.logger.warn({ err: error, taskId: result.taskId, attempt }, 'sending a result failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5000)));
      }
    }
  }

  #refusal(task: Result): Parameters<Result['fail']>[0] | null {
    if (task.serializationMethod === 'pickle') {
      return {
        name: 'UnsupportedSerializationError',
        message:
          `Task '${task.method}' was sent with Python pickle serialization, which this TypeScript task server cannot run. ` +
          `Create the Python queues with serialization_method='json'.`,
        stack: '',
        reason: 'invalid-message',
      };
    }
    if (task.timeoutMs !== null && task.timeoutMs > this.#limits.maxTimeoutMs) {
      return {
        name: 'RangeError',
        message: `Task asks for a timeout of ${task.timeoutMs} ms; this server accepts at most ${this.#limits.maxTimeoutMs} ms (limits.maxTimeoutMs).`,
        stack: '',
        reason: 'invalid-message',
      };
    }
    if (!this.methodNames.includes(task.method)) {
      return {
        name: 'UnknownMethodError',
        message:
          `Method '${task.method}' is not served here. This server runs: ${this.methodNames.join(', ') || '(nothing)'}. ` +
          `Register it in the task server's methods.`,
        stack: '',
        reason: 'unknown-method',
      };
    }
    return null;
  }

  /**
   * Each attempt gets its own stop trigger and its own timeout, counted from when the attempt gets
   * a slot on its executor and is handed over, so time spent on the request channel, waiting for a
   * slot or in backoff never counts.
   */
  async #attempts(task: Result): Promise<void> {
    // An executor that times its tasks where they run (BullMQ workers) gets the timeout in the payload instead.
    const timeoutMs = this.timedByExecutor(task) ? null : task.timeoutMs;
    const slots = this.slotsFor(task);
    for (;;) {
      const controller = new TaskStop();
      this.#running.set(task.taskId, controller);
      let clearTimer: (() => void) | undefined;
      let clearWaitTimer: (() => void) | undefined;
      /** Set once the attempt holds a slot (if its executor counts them) and is handed over. */
      let started = false;
      const start = (): Promise<TaskReply> => {
        started = true;
        clearWaitTimer?.();
        // Chained past 2³¹−1 ms, so a long timeout is not a 1 ms one.
        if (timeoutMs !== null) clearTimer = setLongTimeout(() => controller.abort(new TaskTimeoutError(task.taskId, timeoutMs)), timeoutMs);
        task.timestamp.startTaskSubmission = nowSeconds();
        return this.execute(task, {
          signal: controller,
          onIntermediate: (item) => this.#sendIntermediate(task, item),
          taskId: task.taskId,
          attempt: task.retries,
        });
      };
      let reply: TaskReply;
      try {
        let handedOver: TaskReply | null;
        if (slots === null || slots.tryTake()) {
          handedOver = await start();
        } else {
          // Started from inside the release that frees a slot, so the freed worker gets it on that tick.
          if (this.#queueTimeoutMs !== null) clearWaitTimer = this.#armQueueTimeout(task, controller, this.#queueTimeoutMs);
          handedOver = await slots.runWhenFree(controller, start);
        }
        if (handedOver === null) {
          clearWaitTimer?.();
          // Cancelled, stopped with abortAfterMs, or past queueTimeoutMs: it ends without having started.
          task.fail(failureFromError(controller.reason, controller.reason instanceof ColmenaTimeoutError ? 'timeout' : 'cancelled'));
          return;
        }
        reply = handedOver;
      } catch (error) {
        // Executors answer failures with a reply; this is a bug somewhere, but the task still gets its one result.
        this.logger.error({ err: error, taskId: task.taskId }, 'an executor threw instead of replying');
        reply = failedReply(workerInfo('task-server'), error);
      } finally {
        clearTimer?.();
        // Before the result is sent: the next task in line starts on this tick.
        if (started) slots?.release();
      }
      task.timestamp.taskReceived = nowSeconds();
      applyReply(task, reply);
      if (task.success || task.retries >= task.maxRetries) return;
      // A cancel means stop; a timeout is retried only if the policy names it.
      if (isCancel(controller) || !isRetryable(task.failureInfo, this.#retry)) return;
      task.failedAttempts.push({
        failure: task.failureInfo!,
        workerInfo: task.workerInfo,
        computeStarted: task.timestamp.computeStarted,
        computeEnded: task.timestamp.computeEnded,
      });
      task.retries++;
      const delayMs = retryDelayMs(task.retries, this.#retry);
      this.logger.debug({ taskId: task.taskId, method: task.method, retries: task.retries, delayMs }, 'retrying a failed task');
      // Always through a timer, even at 0 ms: a retry loop must never starve the event loop.
      const waiting = new TaskStop();
      this.#running.set(task.taskId, waiting);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        waiting.addEventListener('abort', () => (clearTimeout(timer), resolve()));
      });
      if (waiting.aborted) {
        // Cancelled (or the server stopped) between tries: the task ends as cancelled.
        task.fail(failureFromError(waiting.reason, 'cancelled'));
        return;
      }
    }
  }

  /** With `queueTimeoutMs`, stop a task still waiting for a slot after that long; returns the timer's clear. */
  #armQueueTimeout(task: Result, stop: TaskStop, queueTimeoutMs: number): () => void {
    const error = (): ColmenaTimeoutError =>
      new ColmenaTimeoutError(`a free slot on its executor (task server queueTimeoutMs); task ${task.taskId} never started`, queueTimeoutMs);
    return setLongTimeout(() => stop.abort(error()), queueTimeoutMs);
  }

  /** Send one streamed value as an intermediate result, without holding up the generator. */
  #sendIntermediate(task: Result, item: IntermediateReply): void {
    const partial = task.cloneRequest();
    partial.success = true;
    partial.complete = false;
    // A method may stream to another topic than its task's (Colmena's streaming_queue).
    if (item.topic !== undefined) partial.topic = item.topic;
    partial.encodedValue = item.encodedValue;
    partial.messageSizes.value = encodedSize(item.encodedValue);
    partial.time.running = item.running;
    partial.time.serializeResults = item.serializeResults;
    partial.applyKeepInputs();
    this.queues.sendResult(partial).catch((error: unknown) => {
      this.logger.error({ err: error, taskId: task.taskId }, 'could not send an intermediate result');
    });
  }

  async #answerMalformed(message: Extract<ServerMessage, { kind: 'malformed' }>): Promise<void> {
    const { identity, error } = message;
    if (!identity) {
      this.logger.warn({ err: error, message: message.raw.slice(0, 200) }, 'dropped a malformed request with no readable task id');
      return;
    }
    this.logger.warn({ err: error, taskId: identity.taskId }, 'answering a malformed request with a failure');
    const answer = new Result({ taskId: identity.taskId, method: identity.method, topic: identity.topic });
    answer.timestamp.inputReceived = nowSeconds();
    answer.fail({ name: error.name, message: error.message, stack: error.stack ?? '', reason: 'invalid-message' });
    try {
      await this.queues.sendResult(answer);
    } catch (sendError) {
      this.logger.error({ err: sendError, taskId: identity.taskId }, 'could not answer a malformed request');
    }
  }
}

function isCancel(stop: TaskStop): boolean {
  return stop.aborted && !(stop.reason instanceof TaskTimeoutError);
}

/** Copy a worker's reply onto the task's Result. */
export function applyReply(task: Result, reply: TaskReply): void {
  task.success = reply.success;
  task.complete = true;
  task.encodedValue = reply.encodedValue;
  task.failureInfo = reply.failure;
  task.workerInfo = reply.workerInfo;
  task.timestamp.computeStarted = reply.computeStarted;
  task.timestamp.computeEnded = reply.computeEnded;
  task.time.running = reply.running;
  task.time.deserializeInputs = reply.deserializeInputs;
  task.time.serializeResults = reply.serializeResults;
  if (reply.additional) Object.assign(task.time.additional, reply.additional);
  if (reply.proxy) {
    // The thinker timed storing an input, the worker fetching it: keep both under the one key.
    const proxy = task.time.proxy as Record<string, object>;
    for (const [key, timing] of Object.entries(reply.proxy)) proxy[key] = { ...proxy[key], ...timing };
  }
  if (reply.asyncResolveProxies !== undefined) task.time.asyncResolveProxies = reply.asyncResolveProxies;
  if (reply.encodedValue !== null) task.messageSizes.value = encodedSize(reply.encodedValue);
  else delete task.messageSizes.value;
}
