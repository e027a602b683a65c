import { InvalidStateError, TaskCancelledError, TaskTimeoutError } from '../common/errors.js';
import { type Logger, childLogger } from '../common/logging.js';
import { failedReply, type IntermediateReply, type RunContext, type TaskReply, workerInfo } from '../methods/run.js';
import { nowSeconds } from '../models/clock.js';
import { Result } from '../models/result.js';
import { encodedSize } from '../models/serialization.js';
import type { ColmenaQueues, ServerMessage } from '../queue/base.js';
import { Emitter } from '../common/emitter.js';
import { TaskStop } from '../common/stop-signal.js';

/** What observers of a task server can subscribe to. */
export interface TaskServerEvents {
  started: { methods: readonly string[] };
  /** A task's final result was sent. */
  result: Result;
  stopped: { reason: 'kill-signal' | 'stop' | 'queues-closed' };
}

export interface TaskServerOptions {
  /** @default a child of the library's logger named `task-server` */
  logger?: Logger;
}

type State = 'created' | 'running' | 'stopping' | 'stopped';

/** Pause after an unexpected transport error before reading again, so a broken link does not spin. */
const RETRY_READ_MS = 100;
/** Tries to send one result before giving up on it (backing off up to 5 s between tries). */
const SEND_ATTEMPTS = 8;
/** Cancellations for tasks not seen yet are remembered, up to this many. */
const MAX_EARLY_CANCELS = 10_000;

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

  constructor(queues: ColmenaQueues, options: TaskServerOptions = {}) {
    this.queues = queues;
    this.logger = options.logger ?? childLogger('task-server');
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

  get state(): State {
    return this.#state;
  }

  /** Tasks taken off the queue and not yet answered. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Begin serving. */
  start(): this {
    if (this.#state !== 'created') throw new InvalidStateError(`start() needs a new task server; this one is ${this.#state}`);
    this.#state = 'running';
    this.#loop = this.#listen();
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

  async #listen(): Promise<void> {
    try {
      try {
        await this.prepare();
      } catch (error) {
        this.#stopReason = 'stop';
        this.logger.error({ err: error }, 'the task server cannot start');
        throw error;
      }
      this.logger.info({ methods: this.methodNames }, 'task server started');
      this.events.emit('started', { methods: this.methodNames });
      for (;;) {
        let message: ServerMessage;
        try {
          message = await this.queues.getTask({ signal: this.#intake });
        } catch (error) {
          if (this.#intake.aborted || this.queues.closed) {
            this.#stopReason = this.#intake.aborted ? 'stop' : 'queues-closed';
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
        const done = this.#handle(message).finally(() => this.#inFlight.delete(done));
        this.#inFlight.add(done);
      }
      this.#state = 'stopping';
      while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
    } finally {
      this.#state = 'stopped';
      await this.shutdown();
      this.logger.info({ reason: this.#stopReason }, 'task server stopped');
      this.events.emit('stopped', { reason: this.#stopReason });
    }
  }

  #cancel(taskId: string): void {
    const controller = this.#running.get(taskId);
    if (controller) {
      controller.abort(new TaskCancelledError(taskId));
      return;
    }
    this.#cancelledEarly.add(taskId);
    if (this.#cancelledEarly.size > MAX_EARLY_CANCELS) {
      this.#cancelledEarly.delete(this.#cancelledEarly.values().next().value!);
    }
  }

  async #handle(message: Extract<ServerMessage, { kind: 'task' | 'malformed' }>): Promise<void> {
    if (message.kind === 'malformed') return this.#answerMalformed(message);
    const task = message.task;
    task.timestamp.inputReceived = nowSeconds();
    try {
      const refusal = this.#refusal(task);
      if (refusal) {
        task.fail(refusal);
      } else if (this.#cancelledEarly.delete(task.taskId)) {
        const error = new TaskCancelledError(task.taskId);
        task.fail({ name: error.name, message: error.message, stack: error.stack ?? '', reason: 'cancelled' });
      } else {
        await this.#runWithRetries(task);
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

  async #runWithRetries(task: Result): Promise<void> {
    const controller = new TaskStop();
    this.#running.set(task.taskId, controller);
    const timeoutMs = task.timeoutMs;
    const timer =
      timeoutMs === null ? undefined : setTimeout(() => controller.abort(new TaskTimeoutError(task.taskId, timeoutMs)), timeoutMs);
    const context: RunContext = {
      signal: controller,
      onIntermediate: (item) => this.#sendIntermediate(task, item),
    };
    try {
      await this.#attempts(task, context);
    } finally {
      clearTimeout(timer);
      this.#running.delete(task.taskId);
    }
  }

  async #attempts(task: Result, context: RunContext): Promise<void> {
    for (;;) {
      task.timestamp.startTaskSubmission = nowSeconds();
      let reply: TaskReply;
      try {
        reply = await this.execute(task, context);
      } catch (error) {
        // Executors answer failures with a reply; this is a bug somewhere, but the task still gets its one result.
        this.logger.error({ err: error, taskId: task.taskId }, 'an executor threw instead of replying');
        reply = failedReply(workerInfo('task-server'), error);
      }
      task.timestamp.taskReceived = nowSeconds();
      applyReply(task, reply);
      // A stopped task is not retried: a timeout would likely recur, and a cancel means stop.
      if (task.success || task.retries >= task.maxRetries || context.signal?.aborted) return;
      task.failedAttempts.push({
        failure: task.failureInfo!,
        workerInfo: task.workerInfo,
        computeStarted: task.timestamp.computeStarted,
        computeEnded: task.timestamp.computeEnded,
      });
      task.retries++;
      this.logger.debug({ taskId: task.taskId, method: task.method, retries: task.retries }, 'retrying a failed task');
    }
  }

  /** Send one streamed value as an intermediate result, without holding up the generator. */
  #sendIntermediate(task: Result, item: IntermediateReply): void {
    const partial = task.cloneRequest();
    partial.success = true;
    partial.complete = false;
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
