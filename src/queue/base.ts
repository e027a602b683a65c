import { InvalidArgumentError, InvalidStateError, UnknownTopicError } from '../common/errors.js';
import { childLogger } from '../common/logging.js';
import { nowSeconds } from '../models/clock.js';
import { failureFromError } from '../models/failure.js';
import type { AnyResult, MethodArgs, MethodMap } from '../models/method-types.js';
import type { ResourceRequirementsInit } from '../models/resources.js';
import { Result } from '../models/result.js';
import { encodeValue, inputsSize, type SerializationMethod } from '../models/serialization.js';
import type { MessageIdentity } from '../models/wire.js';
import type { InvalidMessageError } from '../common/errors.js';
import { isReference, type ProxyHandle } from '../models/value-proxy.js';
import { ProxyLedger, type ProxyOptions } from '../proxy/ledger.js';
import { checkRequest } from '../models/request-checks.js';
import { throwIfAborted, type WaitOptions } from '../common/abort.js';
import { AsyncQueue } from '../common/async-queue.js';
import { ActiveTasks } from './active-tasks.js';
import { checkTimeoutMs } from '../common/limits.js';
import { Emitter } from '../common/emitter.js';

/** Which side of the queues this object plays; misuse from the other side is an error. */
export type QueueRole = 'client' | 'server' | 'any';

export interface QueuesOptions {
  /** Result topics besides `default`, which always exists. @default [] */
  topics?: readonly string[];
  /** How inputs and values are encoded. Only `json` interoperates with Python Colmena. @default 'json' */
  serializationMethod?: 'json' | 'msgpack';
  /** Whether this object sends tasks (`client`), serves them (`server`), or both. @default 'any' */
  role?: QueueRole;
  /** Keep inputs in results unless a task says otherwise. @default true */
  keepInputs?: boolean;
  /** Pass large inputs and values by reference through an object store. */
  proxy?: ProxyOptions;
}

export type { ProxyOptions, TopicProxyOptions } from '../proxy/ledger.js';

export interface SendOptions {
  /** Keyword arguments; a method receives them as a final object argument. */
  kwargs?: Record<string, unknown>;
  /** Result topic. @default 'default' */
  topic?: string;
  resources?: ResourceRequirementsInit;
  /** Metadata echoed back on the result. */
  taskInfo?: Record<string, unknown>;
  /** Send the inputs back with the result. @default the queues' `keepInputs` */
  keepInputs?: boolean;
  /** Re-run a failed task up to this many times. @default 0 */
  maxRetries?: number;
  /**
   * Stop the task if it runs longer than this on the task server (counted from when the server
   * hands it to its executor, never while it waits on the request channel; see the task server's
   * `window`); it then ends as a failed result with `timedOut` true. Up to 365 days
   * (`limits.maxTimeoutMs`); values past 2³¹−1 ms are honoured, not cut short.
   */
  timeoutMs?: number;
  /** Cancel the task when this signal aborts (see {@link ColmenaQueues.cancel}). */
  signal?: AbortSignal;
}

/** How a task server asks for its next request. */
export interface TakeOptions extends WaitOptions {
  /** Tasks the server could take now (its window less the tasks in hand). @default 1 */
  room?: number;
}

/** How many retired task ids a client remembers (at least; up to twice as many), to take their late intermediate results. */
const RECENTLY_RETIRED = 10_000;

/** What a task server gets from the request channel. */
export type ServerMessage =
  | { kind: 'task'; task: Result }
  | { kind: 'kill' }
  | { kind: 'cancel'; taskId: string }
  | { kind: 'malformed'; error: InvalidMessageError; identity: MessageIdentity | null; raw: string };

/** What observers of the queues (run logs, dashboards) can subscribe to. */
export interface QueueEvents {
  /** A task's request is on its way (client side). */
  sent: Result;
  /** The thinker took a result, intermediate or final (client side). */
  result: Result;
  /**
   * A result was dropped on arrival: for a task these queues never sent (or already retired), or
   * a second final result for one task. Only the first final result of a task is ever delivered.
   */
  dropped: { result: Result; reason: 'unknown-task' | 'duplicate-final' };
  /**
   * Tasks are active but no task server has shown a heartbeat for a while (Redis; see
   * `noServerWarningMs`). Python Colmena servers keep no heartbeat, so this also fires with one.
   */
  'no-server': { activeTasks: number; sinceMs: number };
  /**
   * Redis lost its data (restarted without persistence, flushed, or failed over to an empty
   * replica) and the thinker sent its unanswered requests again (see `resendLostRequests`).
   */
  'requests-resent': { count: number };
}


/**
 * The channel between a thinker (client) and a task server. Tasks go out on one request channel;
 * results come back on one channel per topic. A transport implements the abstract protected hooks under "transport hooks" below and calls `deliver()` for each result it receives.
 *
 * Active-task tracking: a task is counted active *before* its request is sent, and only a final
 * result (`complete !== false`) taken by {@link getResult} retires it, so `waitUntilDone` can never
 * resolve while a task is still on its way.
 */
export abstract class ColmenaQueues<M extends MethodMap = MethodMap> {
  readonly topics: readonly string[];
  readonly serializationMethod: SerializationMethod;
  readonly role: QueueRole;
  readonly keepInputs: boolean;

  readonly #topicSet: Set<string>;
  readonly #active: ActiveTasks;
  /** The last tasks retired (up to RECENTLY_RETIRED): their late intermediate results are still delivered. */
  #recentlyRetired = new Set<string>();
  /** The generation before: ids retired between RECENTLY_RETIRED and twice that many retirements ago, also still recent. */
  #earlierRetired = new Set<string>();
  /** getResult calls waiting, by topic: a topic someone waits on is one we may pop. */
  readonly #waitingOn = new Map<string, number>();
  /** Pass-by-reference: the stores of each topic, and which objects each task uses. */
  readonly #proxy: ProxyLedger | null;
  /** Detaches the abort listener of a task sent with a signal, once the task retires. */
  readonly #signalCleanups = new Map<string, () => void>();
  #closing: Promise<void> | null = null;
  /**
   * Observers: `queues.events.on('result', (result) => ...)`. Listeners run synchronously on the
   * task path, so they must only record (buffer and write elsewhere).
   */
  readonly events = new Emitter<QueueEvents>((error, event) => childLogger('queues').error({ err: error, event }, 'a queue observer failed'));
  /** Received results, one buffer per topic, filled by the transport. */
  protected readonly received = new Map<string, AsyncQueue<Result>>();

  constructor(options: QueuesOptions = {}) {
    const topics = ['default', ...(options.topics ?? []).filter((t) => t !== 'default')];
    for (const topic of topics) {
      if (typeof topic !== 'string' || topic.length === 0 || topic.includes('{')) {
        throw new InvalidArgumentError(`Topic names must be non-empty strings without '{', got ${JSON.stringify(topic)}`);
      }
    }
    this.topics = Object.freeze([...new Set(topics)]);
    this.#topicSet = new Set(this.topics);
    this.#active = new ActiveTasks(this.topics);
    for (const topic of this.topics) this.received.set(topic, new AsyncQueue());
    this.serializationMethod = options.serializationMethod ?? 'json';
    if (this.serializationMethod !== 'json' && this.serializationMethod !== 'msgpack') {
      throw new InvalidArgumentError(`serializationMethod must be 'json' or 'msgpack', got ${String(this.serializationMethod)}`);
    }
    this.role = options.role ?? 'any';
    this.keepInputs = options.keepInputs ?? true;
    this.#proxy = options.proxy ? new ProxyLedger(options.proxy, this.topics) : null;
  }

  /** The pass-by-reference threshold of a topic, or `null` when values there always go inline. */
  proxyThreshold(topic: string): number | null {
    return this.#proxy?.threshold(topic) ?? null;
  }

  /**
   * Put a value in the topic's object store once, to send as an argument of any number of tasks
   * without another upload. It stays until {@link evict} is called and every task using it retired.
   *
   * @throws InvalidStateError when these queues were created without a `proxy` store.
   * @example const weights = await queues.proxy(model); for (const x of xs) await queues.sendInputs('score', [weights, x]);
   */
  async proxy(value: unknown, options: { topic?: string } = {}): Promise<ProxyHandle> {
    this.#assertOpen();
    const topic = options.topic ?? 'default';
    if (!this.#topicSet.has(topic)) throw new UnknownTopicError(topic, this.topics);
    if (!this.#proxy) throw new InvalidStateError('queues.proxy() needs an object store: create the queues with the proxy option ({ store, thresholdBytes })');
    return this.#proxy.put(encodeValue(this.serializationMethod, value, 'the value given to proxy()'), topic);
  }

  /**
   * A handle for a value that came back by reference (with `proxy.resolveOnReceipt: false`), to
   * pass it on as an argument of other tasks without fetching it. Resolves `null` if the value came inline.
   */
  handleOf(result: Result): ProxyHandle | null {
    return this.#proxy?.handleOf(result) ?? null;
  }

  /** Evict a handle's object once every task using it has retired (at once if none does). */
  async evict(handle: ProxyHandle): Promise<void> {
    if (!this.#proxy) throw new InvalidStateError('These queues have no object store (proxy option), so they hold no handles');
    await this.#proxy.evict(handle);
  }

  // ---- transport hooks ----------------------------------------------------------------------

  /** Put a task on the request channel. */
  protected abstract pushRequest(task: Result): Promise<void>;
  /** Put the kill signal on the request channel. */
  protected abstract pushKillSignal(): Promise<void>;
  /** Ask the task server to stop a task. */
  protected abstract pushCancel(taskId: string): Promise<void>;
  /** Take the next request (server side); at most `options.room` may be taken ahead. */
  protected abstract popRequest(options: TakeOptions): Promise<ServerMessage>;
  /** Put a result on its topic's channel (server side). */
  protected abstract pushResult(result: Result): Promise<void>;
  /** Make sure results on the topic channels flow into {@link received}. */
  protected abstract listenForResults(): void;
  /** Empty every channel. */
  protected abstract clearChannels(): Promise<void>;
  /** Release connections and timers. */
  protected abstract closeTransport(): Promise<void>;

  // ---- client side ----------------------------------------------------------------------------

  /**
   * Send a task. Resolves with its task id once the request is on the channel.
   *
   * @throws UnknownTopicError for a topic the queues were not created with.
   * @throws SerializationError naming the argument that cannot be encoded.
   * @example const id = await queues.sendInputs('add', [1, 2], { topic: 'sim' });
   */
  sendInputs<K extends keyof M & string>(method: K, args: MethodArgs<M[K]>, options?: SendOptions): Promise<string>;
  /**
   * With keyword arguments (bound by name when the method declares `params`), the positional
   * ones may stop short: `sendInputs('add', [1], { kwargs: { b: 2 } })` or `sendInputs('add', [], { kwargs: { a: 1, b: 2 } })`.
   */
  sendInputs<K extends keyof M & string>(method: K, args: Partial<MethodArgs<M[K]>>, options: SendOptions & { kwargs: Record<string, unknown> }): Promise<string>;
  async sendInputs<K extends keyof M & string>(method: K, args: Partial<MethodArgs<M[K]>>, options: SendOptions = {}): Promise<string> {
    this.#assertOpen();
    this.#assertRole('client', 'sendInputs');
    const topic = options.topic ?? 'default';
    if (!this.#topicSet.has(topic)) throw new UnknownTopicError(topic, this.topics);
    if (!Array.isArray(args)) {
      throw new InvalidArgumentError(`sendInputs('${method}', args): args must be an array of positional arguments`);
    }
    throwIfAborted(options.signal);
    checkRequest(method, options.taskInfo);
    if (options.timeoutMs !== undefined) checkTimeoutMs(options.timeoutMs, `sendInputs('${method}') timeoutMs`);
    const task = Result.create({
      method,
      args,
      kwargs: options.kwargs,
      topic,
      serializationMethod: this.serializationMethod,
      keepInputs: options.keepInputs ?? this.keepInputs,
      taskInfo: options.taskInfo,
      resources: options.resources,
      maxRetries: options.maxRetries,
      timeoutMs: options.timeoutMs,
    });
    if (this.#proxy) await this.#proxy.prepare(task);
    else task.messageSizes.inputs = inputsSize(task.inputs);
    this.listenForResults();
    const taskId = task.taskId;
    this.#active.add(taskId, topic, method);
    if (this.#active.countOf(topic) === 1 && !this.#waitingOn.get(topic)) this.ownershipChanged();
    // The task is held across the push only for observers of 'sent': thousands sent at once would
    // otherwise all outlive a collection of the young generation, which copies each survivor.
    const observed = this.events.hasListeners('sent') ? task : null;
    try {
      await this.pushRequest(task);
    } catch (error) {
      this.#retire(taskId);
      throw error;
    }
    if (observed) this.events.emit('sent', observed);
    if (options.signal) this.#cancelOnAbort(taskId, options.signal);
    return taskId;
  }

  /**
   * Stop a task: the task server stops its work (terminating the thread, process or executable)
   * and answers with one failed result whose `cancelled` is true. Resolves `false` if the task is
   * not active (already finished, or never sent from here).
   */
  async cancel(taskId: string): Promise<boolean> {
    this.#assertRole('client', 'cancel');
    if (!this.#active.has(taskId)) return false;
    await this.pushCancel(taskId);
    return true;
  }

  #cancelOnAbort(taskId: string, signal: AbortSignal): void {
    const onAbort = (): void => {
      this.#signalCleanups.delete(taskId);
      this.cancel(taskId).catch(() => {});
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.#signalCleanups.set(taskId, () => signal.removeEventListener('abort', onAbort));
  }

  /**
   * Take the next result of a topic, waiting for one. A final result retires its task.
   *
   * @throws UnknownTopicError; ColmenaTimeoutError after `timeoutMs`; the signal's reason on abort.
   */
  async getResult(topic = 'default', options: WaitOptions = {}): Promise<AnyResult<M>> {
    this.#assertRole('client', 'getResult');
    const buffer = this.received.get(topic);
    if (!buffer) throw new UnknownTopicError(topic, this.topics);
    this.listenForResults();
    let result: Result;
    const waiting = (this.#waitingOn.get(topic) ?? 0) + 1;
    this.#waitingOn.set(topic, waiting);
    // A topic is owned while it has active tasks or waiters: only a change of both is news.
    if (waiting === 1 && this.#active.countOf(topic) === 0) this.ownershipChanged();
    try {
      result = await buffer.shift(`a result on topic '${topic}'`, options);
    } finally {
      const left = this.#waitingOn.get(topic)! - 1;
      this.#waitingOn.set(topic, left);
      if (left === 0 && this.#active.countOf(topic) === 0) this.ownershipChanged();
    }
    result.timestamp.resultReceived = nowSeconds();
    try {
      if (this.#proxy) await this.#proxy.receive(result, this.#active.has(result.taskId));
      else this.#refuseReference(result);
      // A reference kept as a handle (resolveOnReceipt: false) stays encoded until resolveValue().
      if (!isReference(result.encodedValue)) result.decodeValue();
    } catch (error) {
      result.fail(failureFromError(error));
    }
    if (result.complete !== false) this.#retire(result.taskId);
    this.events.emit('result', result);
    return result as AnyResult<M>;
  }

  /**
   * Fetch, evict and decode a value that came back by reference (when the queues were created with
   * `proxy.resolveOnReceipt: false`). Does nothing for a value that came inline.
   */
  async resolveValue(result: Result): Promise<void> {
    if (this.#proxy) await this.#proxy.resolve(result);
    else this.#refuseReference(result);
    result.decodeValue();
  }

  /** Queues without a store cannot follow a reference: say so rather than decode its text. */
  #refuseReference(result: Result): void {
    if (isReference(result.encodedValue)) ProxyLedger.refuseWithoutStore();
  }

  /** Results of a topic as they arrive, until the signal aborts. */
  async *results(options: { topic?: string; signal?: AbortSignal } = {}): AsyncGenerator<AnyResult<M>, void, undefined> {
    const { topic = 'default', signal } = options;
    while (!signal?.aborted) {
      try {
        yield await this.getResult(topic, { signal });
      } catch (error) {
        if (signal?.aborted) return;
        throw error;
      }
    }
  }

  /** Tasks sent and not yet retired by a final result, in all topics or in one. */
  activeCount(topic?: string): number {
    if (topic === undefined) return this.#active.size;
    const count = this.#active.countOf(topic);
    if (count === undefined) throw new UnknownTopicError(topic, this.topics);
    return count;
  }

  /** Ids of the tasks still active. */
  activeTaskIds(): string[] {
    return this.#active.ids();
  }

  /**
   * Claim tasks that an earlier client sent on channels that outlived it (Redis): they count as
   * active, so each one's final result is accepted, once, as if it had been sent from here. Ids
   * already active are left alone. `thinker.resume` uses it (see docs/resume.md).
   * @throws UnknownTopicError for a topic these queues lack.
   */
  adoptTasks(tasks: readonly { taskId: string; topic: string }[]): void {
    this.#assertOpen();
    this.#assertRole('client', 'adoptTasks');
    for (const { topic } of tasks) if (!this.#topicSet.has(topic)) throw new UnknownTopicError(topic, this.topics);
    for (const { taskId, topic } of tasks) if (!this.#active.has(taskId)) this.#active.add(taskId, topic);
    this.listenForResults();
  }

  /** Resolve once no task (of the topic, if given) is active; at once if none is. */
  waitUntilDone(options: WaitOptions & { topic?: string } = {}): Promise<void> {
    if (options.topic !== undefined) this.activeCount(options.topic); // an unknown topic throws
    return this.#active.waitUntilNone(options.topic ?? null, options);
  }

  /** Ask one task server to stop: it finishes the tasks in hand, sends their results, and exits. */
  async sendKillSignal(): Promise<void> {
    this.#assertOpen();
    await this.pushKillSignal();
  }

  /** Empty the request channel and every topic's result channel. Active tasks are forgotten. */
  async flush(): Promise<void> {
    await this.clearChannels();
    for (const buffer of this.received.values()) buffer.clear();
    for (const taskId of this.#active.ids()) this.#retire(taskId);
  }

  /** Close connections and reject pending waits. Safe to call more than once. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new InvalidStateError('The queues are closed');
      for (const buffer of this.received.values()) buffer.close(closed);
      await this.closeTransport();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  get closed(): boolean {
    return this.#closing !== null;
  }

  // ---- server side ----------------------------------------------------------------------------

  /**
   * Take the next request off the channel (task server side). `room` is how many tasks the server
   * could take now: a transport may take that many in one go (each leased) and hand them out on
   * the next calls, but never more.
   */
  getTask(options: TakeOptions = {}): Promise<ServerMessage> {
    this.#assertRole('server', 'getTask');
    return this.popRequest(options);
  }

  /**
   * Send a result back on its topic (task server side). Not `async`: one promise less on every
   * task's way out; it still rejects (never throws) on a wrong role.
   */
  sendResult(result: Result): Promise<void> {
    try {
      this.#assertRole('server', 'sendResult');
    } catch (error) {
      return Promise.reject(error);
    }
    result.timestamp.resultSent = nowSeconds();
    return this.pushResult(result);
  }

  // ---- internals ------------------------------------------------------------------------------

  /**
   * Hand a received result to its topic buffer (transports call this). Enforces exactly one final
   * result per task sent from here: anything else is dropped with a log line and a `dropped` event.
   */
  protected deliver(result: Result): void {
    const task = this.#active.get(result.taskId);
    if (task === undefined) {
      // A value streamed to another topic may be read after its task's final result: still its own.
      if (result.complete === false && this.#retiredLately(result.taskId)) return this.#bufferFor(result.topic).push(result);
      return this.#drop(result, 'unknown-task');
    }
    if (result.complete !== false && !this.#active.markFinalDelivered(result.taskId)) return this.#drop(result, 'duplicate-final');
    this.#bufferFor(result.topic).push(result);
  }

  #bufferFor(topic: string): AsyncQueue<Result> {
    return this.received.get(topic) ?? this.received.get('default')!;
  }

  #drop(result: Result, reason: QueueEvents['dropped']['reason']): void {
    childLogger('queues').warn(
      { taskId: result.taskId, method: result.method, topic: result.topic, reason },
      reason === 'unknown-task' ? 'dropped a result for a task these queues did not send (or already retired)' : 'dropped a second final result for a task',
    );
    this.events.emit('dropped', { result, reason });
  }

  /**
   * Topics whose result channels this client may read: those with tasks active, and those someone
   * is waiting on with getResult. Two thinkers on one prefix with disjoint topics never read each
   * other's results; two that share a topic share its results, as in Python Colmena.
   */
  protected ownedTopics(): string[] {
    return this.topics.filter((topic) => this.#active.countOf(topic)! > 0 || (this.#waitingOn.get(topic) ?? 0) > 0);
  }

  /** Called when a topic may have started or stopped being owned; transports that read by topic re-check. */
  protected ownershipChanged(): void {}

  /** Whether a task sent from here is still waiting for its final result (none delivered yet). */
  protected awaitsFinalResult(taskId: string): boolean {
    const task = this.#active.get(taskId);
    return task !== undefined && !task.finalDelivered;
  }

  /** Called when a task is over here (result taken, push failed, flushed): a transport that keeps something per task lets go of it. */
  protected taskRetired(_taskId: string): void {}

  /**
   * End every active task that has no final result yet with the given failure (used when no task
   * server is left to answer). Each still ends as exactly one result, taken with getResult.
   */
  protected failActiveTasks(failure: Parameters<Result['fail']>[0]): number {
    let failed = 0;
    for (const taskId of this.#active.ids()) {
      const { topic, method, finalDelivered } = this.#active.get(taskId)!;
      if (finalDelivered) continue;
      this.deliver(new Result({ taskId, method, topic }).fail({ ...failure }));
      failed++;
    }
    return failed;
  }

  /** Whether a task retired within the last RECENTLY_RETIRED to twice that many retirements. */
  #retiredLately(taskId: string): boolean {
    return this.#recentlyRetired.has(taskId) || this.#earlierRetired.has(taskId);
  }

  /** A task is over: uncount it, detach its signal, and evict inputs it passed by reference. */
  #retire(taskId: string): void {
    const topic = this.#active.remove(taskId);
    if (topic === undefined) return;
    // Two generations instead of a ring: one add per task, and whole sets forgotten at once.
    if (this.#recentlyRetired.size >= RECENTLY_RETIRED) {
      this.#earlierRetired = this.#recentlyRetired;
      this.#recentlyRetired = new Set();
    }
    this.#recentlyRetired.add(taskId);
    if (this.#active.countOf(topic) === 0 && !this.#waitingOn.get(topic)) this.ownershipChanged();
    if (this.#signalCleanups.size > 0) {
      this.#signalCleanups.get(taskId)?.();
      this.#signalCleanups.delete(taskId);
    }
    this.#proxy?.retire(taskId);
    this.taskRetired(taskId);
  }

  #assertRole(needed: 'client' | 'server', operation: string): void {
    if (this.role !== 'any' && this.role !== needed) {
      throw new InvalidStateError(`${operation}() is for the ${needed} side, but these queues were created with role '${this.role}'`);
    }
  }

  #assertOpen(): void {
    if (this.#closing) throw new InvalidStateError('The queues are closed; create new queues to send more tasks');
  }
}
