import { InvalidArgumentError, InvalidStateError, UnknownPoolError } from '../common/errors.js';
import { Emitter } from '../common/emitter.js';
import { childLogger } from '../common/logging.js';
import { nowSeconds } from '../models/clock.js';
import { throwIfAborted, type WaitOptions, watchWait } from '../common/abort.js';

/** A resource pool: a task type's name, or `null` for the slots not allocated to any task type. */
export type PoolName = string | null;

export interface ReleaseOptions extends WaitOptions {
  /**
   * After releasing, ask for the same number of slots again. The request joins the back of the
   * pool's line, so agents already waiting are served first. `timeoutMs` and `signal` apply to
   * this new request. @default false
   */
  rerequest?: boolean;
}

export interface ReallocateOptions extends WaitOptions {
  /**
   * Wait until the slots have moved. With `false` the call resolves as soon as the request has
   * joined the line of the source pool, and the move completes in the background; learn how it
   * ended through `onComplete`. @default true
   */
  block?: boolean;
  /** Called when a non-blocking move ends: with no argument on success, with the error if it failed. */
  onComplete?: (error?: unknown) => void;
}

/** One change to a counter, as emitted on its `change` event. Times are epoch seconds. */
export type ResourceChange =
  | { kind: 'acquire'; pool: PoolName; slots: number; timestamp: number }
  | { kind: 'release'; pool: PoolName; slots: number; timestamp: number }
  | { kind: 'reallocate'; from: PoolName; to: PoolName; slots: number; timestamp: number };

/** Events of a {@link ResourceCounter}. */
export interface ResourceCounterEvents {
  /**
   * Emitted synchronously after every acquire, release and reallocation, with the pools already
   * updated (read them with {@link ResourceCounter.snapshot}). Listeners must not throw; one that
   * does is logged.
   */
  change: ResourceChange;
}

/** The state of one pool. */
export interface PoolState {
  pool: PoolName;
  /** Slots that belong to the pool. */
  allocated: number;
  /** Of those, slots not acquired by anyone. */
  available: number;
  /** Requests waiting in line for slots of this pool. */
  waiting: number;
}

interface Waiter {
  /** Slots wanted; `'all'` means every slot allocated to the pool at the moment it is served. */
  readonly count: number | 'all';
  grant(slots: number): void;
}

interface Pool {
  allocated: number;
  available: number;
  waiters: Waiter[];
}

/**
 * Tracks how many compute slots belong to each task type (allocation) and how many of those are in
 * use (utilization), so agents can share a fixed set of workers.
 *
 * Every slot starts in the unallocated pool, named `null`. {@link reallocate} moves slots between
 * pools; {@link acquire} takes slots of a pool for a task and {@link release} gives them back.
 * Requests for a pool are served strictly first come, first served: a request that cannot be met
 * yet holds up later ones, so large requests are not starved by small ones.
 *
 * @example
 * const rec = new ResourceCounter(8, ['simulation', 'training']);
 * await rec.reallocate(null, 'simulation', 8);
 * await rec.acquire('simulation', 1, { signal: thinker.done.signal });
 * // ... run the task, then:
 * rec.release('simulation', 1);
 */
export class ResourceCounter<T extends string = string> {
  /**
   * `change` after every acquire, release and reallocation: `rec.events.on('change', listener)`
   * returns the function that unsubscribes.
   */
  readonly events = new Emitter<ResourceCounterEvents>((error, event) =>
    childLogger('thinker.resources').error({ err: error, event }, 'a ResourceCounter change listener failed'),
  );
  /** Slots in all pools together. */
  readonly totalSlots: number;
  /** Names of the pools besides `null`. */
  readonly taskTypes: readonly T[];
  readonly #pools = new Map<PoolName, Pool>();

  constructor(totalSlots: number, taskTypes: readonly T[] = []) {
    checkCount('totalSlots', totalSlots);
    if (!Array.isArray(taskTypes)) {
      throw new InvalidArgumentError(`taskTypes must be an array of pool names, got ${typeof taskTypes}`);
    }
    for (const name of taskTypes) {
      if (typeof name !== 'string' || name.length === 0) {
        throw new InvalidArgumentError(
          `Task types must be non-empty strings, got ${JSON.stringify(name)}; null already names the unallocated pool`,
        );
      }
      if (this.#pools.has(name)) throw new InvalidArgumentError(`Task type '${name}' is listed twice`);
      this.#pools.set(name, { allocated: 0, available: 0, waiters: [] });
    }
    this.#pools.set(null, { allocated: totalSlots, available: totalSlots, waiters: [] });
    this.totalSlots = totalSlots;
    this.taskTypes = Object.freeze([...taskTypes]);
  }

  /** Slots not allocated to any task type. */
  get unallocatedSlots(): number {
    return this.#pool(null).allocated;
  }

  /** Slots that belong to a pool, whether in use or not. */
  allocatedSlots(pool: T | null): number {
    return this.#pool(pool).allocated;
  }

  /** Slots of a pool that are not in use. */
  availableSlots(pool: T | null): number {
    return this.#pool(pool).available;
  }

  /** Requests (acquires and reallocations) waiting in line for a pool. */
  waitingRequests(pool: T | null): number {
    return this.#pool(pool).waiters.length;
  }

  /** Every pool's state, `null` first. */
  snapshot(): PoolState[] {
    const pools = [null, ...this.taskTypes];
    return pools.map((pool) => {
      const state = this.#pool(pool);
      return { pool, allocated: state.allocated, available: state.available, waiting: state.waiters.length };
    });
  }

  /**
   * Take `slots` slots of a pool, waiting until that many are free and every earlier request for
   * the pool has been served.
   *
   * @throws ColmenaTimeoutError after `timeoutMs`; the signal's reason when `signal` aborts. In
   *   both cases no slot is taken.
   */
  acquire(pool: T | null, slots: number, options: WaitOptions = {}): Promise<void> {
    let state: Pool;
    try {
      state = this.#pool(pool);
      checkCount('slots', slots);
      throwIfAborted(options.signal);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#tryTake(pool, state, slots)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        count: slots,
        grant: (granted) => {
          detach();
          this.#emit({ kind: 'acquire', pool, slots: granted, timestamp: nowSeconds() });
          resolve();
        },
      };
      const detach = this.#enqueue(pool, state, waiter, `${slots} slot(s) of pool ${label(pool)}`, options, reject);
    });
  }

  /** Take `slots` slots of a pool if they are free now and nobody is waiting ahead. */
  tryAcquire(pool: T | null, slots: number): boolean {
    const state = this.#pool(pool);
    checkCount('slots', slots);
    return this.#tryTake(pool, state, slots);
  }

  /**
   * Give back slots taken with {@link acquire}; waiting requests are served at once. The
   * defaults are Colmena's (`release(task=None, n_slots=1)`): one slot of the unallocated pool.
   *
   * @throws InvalidStateError when releasing more slots than are in use in the pool.
   */
  release(pool?: T | null, slots?: number): void;
  /** Give back slots and ask for the same number again, behind the requests already waiting. */
  release(pool: T | null, slots: number, options: ReleaseOptions & { rerequest: true }): Promise<void>;
  release(pool: T | null, slots: number, options?: ReleaseOptions): void | Promise<void>;
  release(pool: T | null = null, slots = 1, options: ReleaseOptions = {}): void | Promise<void> {
    const state = this.#pool(pool);
    checkCount('slots', slots);
    const inUse = state.allocated - state.available;
    if (slots > inUse) {
      throw new InvalidStateError(
        `Cannot release ${slots} slot(s) of pool ${label(pool)}: only ${inUse} of its ${state.allocated} slot(s) are in use. ` +
          `Release only slots you acquired.`,
      );
    }
    state.available += slots;
    this.#emit({ kind: 'release', pool, slots, timestamp: nowSeconds() });
    this.#serve(pool, state);
    if (options.rerequest) return this.acquire(pool, slots, options);
  }

  /**
   * Move slots from one pool to another. The slots are taken from `from` like an acquire (in line
   * with other requests for it, waiting until they are free), then given to `to`, where they are
   * free to acquire. `'all'` moves every slot allocated to `from` at the moment the request is
   * served, waiting for those in use to be released.
   *
   * @throws InvalidArgumentError for the same pool on both sides; UnknownPoolError; with
   *   `block` (the default), ColmenaTimeoutError after `timeoutMs` or the signal's reason.
   */
  reallocate(from: T | null, to: T | null, slots: number | 'all', options: ReallocateOptions = {}): Promise<void> {
    let source: Pool;
    let target: Pool;
    try {
      source = this.#pool(from);
      target = this.#pool(to);
      if (from === to) throw new InvalidArgumentError(`Cannot reallocate slots from pool ${label(from)} to itself`);
      if (slots !== 'all') checkCount('slots', slots);
      throwIfAborted(options.signal);
    } catch (error) {
      return Promise.reject(error);
    }
    const move = (moved: number): void => {
      source.allocated -= moved;
      target.allocated += moved;
      target.available += moved;
      this.#emit({ kind: 'reallocate', from, to, slots: moved, timestamp: nowSeconds() });
      this.#serve(to, target);
    };
    let done: Promise<void>;
    const wanted = slots === 'all' ? source.allocated : slots;
    if (source.waiters.length === 0 && wanted <= source.available) {
      source.available -= wanted;
      move(wanted);
      done = Promise.resolve();
    } else {
      done = new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          count: slots,
          grant: (granted) => {
            detach();
            move(granted);
            resolve();
          },
        };
        const what = `${slots} slot(s) to move from pool ${label(from)} to ${label(to)}`;
        const detach = this.#enqueue(from, source, waiter, what, options, reject);
      });
    }
    if (options.block === false) {
      done.then(
        () => options.onComplete?.(),
        (error: unknown) => options.onComplete?.(error),
      );
      return Promise.resolve();
    }
    return done;
  }

  // ---- internals ------------------------------------------------------------------------------

  #pool(pool: PoolName): Pool {
    const state = this.#pools.get(pool);
    if (state === undefined) throw new UnknownPoolError(pool, [null, ...this.taskTypes]);
    return state;
  }

  #tryTake(pool: PoolName, state: Pool, slots: number): boolean {
    if (state.waiters.length > 0 || slots > state.available) return false;
    state.available -= slots;
    this.#emit({ kind: 'acquire', pool, slots, timestamp: nowSeconds() });
    return true;
  }

  /** Put a waiter in line; returns the function that detaches its timeout and signal. */
  #enqueue(
    pool: PoolName,
    state: Pool,
    waiter: Waiter,
    what: string,
    options: WaitOptions,
    reject: (reason: unknown) => void,
  ): () => void {
    const detach = watchWait(what, options, (reason) => {
      const index = state.waiters.indexOf(waiter);
      if (index >= 0) state.waiters.splice(index, 1);
      reject(reason);
      // The head of the line may have left: those behind it may now be served.
      if (index === 0) this.#serve(pool, state);
    });
    state.waiters.push(waiter);
    return detach;
  }

  /** Serve waiters in order while the one at the front can be satisfied. */
  #serve(pool: PoolName, state: Pool): void {
    for (;;) {
      const head = state.waiters[0];
      if (head === undefined) return;
      const wanted = head.count === 'all' ? state.allocated : head.count;
      if (wanted > state.available) return;
      state.waiters.shift();
      state.available -= wanted;
      head.grant(wanted);
    }
  }

  /** Tell listeners; one that throws is logged and cannot break the counter's bookkeeping. */
  #emit(change: ResourceChange): void {
    this.events.emit('change', change);
  }
}

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
}

function label(pool: PoolName): string {
  return pool === null ? 'null (unallocated)' : `'${pool}'`;
}
