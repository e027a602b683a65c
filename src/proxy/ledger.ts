import { InvalidArgumentError, InvalidStateError } from '../common/errors.js';
import type { Result } from '../models/result.js';
import { type Encoded, encodedSize } from '../models/serialization.js';
import { isReference, ProxyHandle } from '../models/value-proxy.js';
import { fetchReferenced, type ProxyTimings, proxyInputs, storeEncoded } from './proxy.js';
import { decodeReference, encodeReference, type ProxyReference, ProxyResolutionError } from './reference.js';
import type { ObjectStore } from './store.js';
import { configureStores, StoreRegistry } from './store-registry.js';

/** Pass-by-reference settings of one topic. */
export interface TopicProxyOptions {
  /** This topic's own store. @default the queues' `proxy.store` */
  store?: ObjectStore;
  /** `null` turns pass-by-reference off for the topic. @default the queues' `proxy.thresholdBytes` */
  thresholdBytes?: number | null;
}

export interface ProxyOptions {
  store: ObjectStore;
  /** Inputs and values whose encoded size reaches this many bytes travel by reference. */
  thresholdBytes: number;
  /** Settings for particular topics: a threshold (`null`: never by reference), or a store and a threshold. */
  topics?: Record<string, number | null | TopicProxyOptions>;
  /**
   * Fetch (and evict) a value passed by reference as soon as its result is taken. With `false`
   * the result keeps the reference until {@link ColmenaQueues.resolveValue} is called.
   * @default true
   */
  resolveOnReceipt?: boolean;
}

interface HandleState {
  handle: ProxyHandle;
  /** Active tasks using it. */
  users: Set<string>;
  evictRequested: boolean;
}

/**
 * The thinker side of pass-by-reference: which store each topic uses, what each task put in a
 * store, which handles each task uses, and which values came back by reference. It evicts only
 * objects it created or received for its own tasks, and a handle only once asked to and no active
 * task uses it. References in results are followed only into the stores these queues were given.
 */
export class ProxyLedger {
  readonly #stores = new StoreRegistry('these queues');
  readonly #topics = new Map<string, { store: ObjectStore; threshold: number | null }>();
  readonly #default: { store: ObjectStore; threshold: number | null };
  readonly #resolveOnReceipt: boolean;
  /** Objects stored for one task's inputs: evicted when it retires. */
  readonly #taskObjects = new Map<string, ProxyReference[]>();
  /** Keys of all those objects, so a result naming one never evicts it. */
  readonly #taskObjectKeys = new Set<string>();
  readonly #handles = new Map<string, HandleState>();
  readonly #taskHandles = new Map<string, string[]>();
  readonly #evictedHandles = new Set<string>();
  /** Values received by reference for tasks of ours, not yet fetched or made into handles. */
  readonly #received = new WeakMap<Result, ProxyReference>();

  constructor(options: ProxyOptions, topics: readonly string[]) {
    const threshold = (value: unknown, where: string): number | null => {
      if (value !== null && !(typeof value === 'number' && value >= 0)) {
        throw new InvalidArgumentError(`proxy threshold for ${where} must be a non-negative number of bytes or null, got ${String(value)}`);
      }
      return value as number | null;
    };
    this.#default = { store: options.store, threshold: threshold(options.thresholdBytes, '(all topics)') };
    this.#stores.add(options.store);
    for (const [topic, setting] of Object.entries(options.topics ?? {})) {
      if (!topics.includes(topic)) {
        throw new InvalidArgumentError(`proxy.topics names topic '${topic}', which these queues do not have (topics: ${topics.join(', ')})`);
      }
      if (typeof setting === 'object' && setting !== null) {
        const store = setting.store ?? options.store;
        this.#stores.add(store);
        const t = setting.thresholdBytes === undefined ? this.#default.threshold : threshold(setting.thresholdBytes, `topic '${topic}'`);
        this.#topics.set(topic, { store, threshold: t });
      } else {
        this.#topics.set(topic, { store: options.store, threshold: threshold(setting, `topic '${topic}'`) });
      }
    }
    this.#resolveOnReceipt = options.resolveOnReceipt ?? true;
    // A task server in this process may resolve references into these stores too.
    configureStores(this.#stores.stores());
  }

  threshold(topic: string): number | null {
    return this.#topic(topic).threshold;
  }

  #topic(topic: string): { store: ObjectStore; threshold: number | null } {
    return this.#topics.get(topic) ?? this.#default;
  }

  /** Before a task is sent: large inputs by reference, handles counted, value settings, sizes. */
  async prepare(task: Result): Promise<void> {
    const { store, threshold } = this.#topic(task.topic);
    const timings = task.time.proxy as ProxyTimings;
    const before = new Set(Object.keys(timings));
    if (threshold !== null) {
      task.inputs = await proxyInputs(task.inputs, store, threshold, timings);
      task.valueProxy = { storeId: store.id, thresholdBytes: threshold };
    }
    let objectBytes = 0;
    let referenceBytes = 0;
    const created: ProxyReference[] = [];
    const handles: string[] = [];
    for (const encoded of [...task.inputs[0], ...Object.values(task.inputs[1])]) {
      if (!isReference(encoded)) {
        objectBytes += encodedSize(encoded);
        continue;
      }
      const reference = decodeReference(encoded as string);
      objectBytes += reference.bytes;
      referenceBytes += encodedSize(encoded);
      if (this.#evictedHandles.has(reference.key)) {
        throw new InvalidStateError(`A ProxyHandle for ${reference.key} was evicted: make a new one with queues.proxy(value)`);
      }
      if (this.#handles.has(reference.key)) handles.push(reference.key);
      else if (!before.has(reference.key) && reference.key in timings) created.push(reference);
    }
    task.messageSizes.inputs = objectBytes;
    // The object bytes are what Colmena reports; what rode the message is kept beside them.
    if (referenceBytes > 0) (task.messageSizes as Record<string, number>).inputsReferences = referenceBytes;
    if (created.length > 0) {
      this.#taskObjects.set(task.taskId, created);
      for (const reference of created) this.#taskObjectKeys.add(reference.key);
    }
    if (handles.length > 0) {
      this.#taskHandles.set(task.taskId, handles);
      for (const key of handles) this.#handles.get(key)!.users.add(task.taskId);
    }
  }

  /** A result was taken. `ours`: it answers an active task these queues sent. */
  async receive(result: Result, ours: boolean): Promise<void> {
    if (!isReference(result.encodedValue)) return;
    const reference = decodeReference(result.encodedValue as string, `the value of task ${result.taskId}`);
    if (!ours) {
      throw new ProxyResolutionError(
        `The result of task ${result.taskId} names an object by reference, but these queues have no such task active: not fetched`,
      );
    }
    this.#stores.get(reference.store, `the value of task ${result.taskId}`);
    const sizes = result.messageSizes as Record<string, number>;
    sizes.valueReference = encodedSize(result.encodedValue);
    sizes.value = reference.bytes;
    // Never evict through a result what these queues hold for other purposes.
    if (!this.#handles.has(reference.key) && !this.#taskObjectKeys.has(reference.key)) this.#received.set(result, reference);
    if (this.#resolveOnReceipt) await this.resolve(result);
  }

  /** Fetch a value that came by reference, then evict it unless it became a handle. */
  async resolve(result: Result): Promise<void> {
    if (!isReference(result.encodedValue)) return;
    const what = `the value of task ${result.taskId}`;
    const reference = this.#received.get(result) ?? decodeReference(result.encodedValue as string, what);
    const store = this.#stores.get(reference.store, what);
    result.encodedValue = await fetchReferenced(reference, this.#stores, result.time.proxy as ProxyTimings, what);
    if (this.#received.get(result) === reference) {
      this.#received.delete(result);
      // Housekeeping, off the result's path: a failure only leaves the object behind.
      store.evict(reference.key).catch(() => {});
    }
  }

  handleOf(result: Result): ProxyHandle | null {
    if (!isReference(result.encodedValue)) return null;
    const reference = this.#received.get(result);
    if (!reference) {
      const known = this.#handles.get(decodeReference(result.encodedValue as string).key);
      if (known) return known.handle;
      throw new InvalidArgumentError(`handleOf(): the value of task ${result.taskId} was not received by these queues for a task of theirs`);
    }
    this.#received.delete(result);
    return this.#register(reference);
  }

  async put(encoded: Encoded, topic: string): Promise<ProxyHandle> {
    const { store } = this.#topic(topic);
    return this.#register(await storeEncoded(encoded, store, {}));
  }

  #register(reference: ProxyReference): ProxyHandle {
    const handle = new ProxyHandle(encodeReference(reference), { storeId: reference.store, key: reference.key, bytes: reference.bytes, binary: reference.binary });
    this.#handles.set(reference.key, { handle, users: new Set(), evictRequested: false });
    return handle;
  }

  async evict(handle: ProxyHandle): Promise<void> {
    const state = this.#handles.get(handle.key);
    if (!state) return;
    state.evictRequested = true;
    if (state.users.size === 0) await this.#evictHandle(state);
  }

  async #evictHandle(state: HandleState): Promise<void> {
    this.#handles.delete(state.handle.key);
    this.#evictedHandles.add(state.handle.key);
    await this.#stores.get(state.handle.storeId, 'an eviction').evict(state.handle.key);
  }

  /** A task is over: evict what was stored for it, and handles whose last user it was (if asked to). */
  retire(taskId: string): void {
    const objects = this.#taskObjects.get(taskId);
    if (objects) {
      this.#taskObjects.delete(taskId);
      for (const reference of objects) {
        this.#taskObjectKeys.delete(reference.key);
        this.#stores.get(reference.store, 'an eviction').evict(reference.key).catch(() => {});
      }
    }
    const handles = this.#taskHandles.get(taskId);
    if (handles) {
      this.#taskHandles.delete(taskId);
      for (const key of handles) {
        const state = this.#handles.get(key);
        if (!state) continue;
        state.users.delete(taskId);
        if (state.evictRequested && state.users.size === 0) this.#evictHandle(state).catch(() => {});
      }
    }
  }

  static refuseWithoutStore(): never {
    throw new ProxyResolutionError(
      'The value came back by reference, but these queues have no object store: give them a proxy option with the store the task server uses',
    );
  }
}
