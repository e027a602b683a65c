import { InvalidStateError, InvalidArgumentError } from '../common/errors.js';
import type { WaitOptions } from '../common/abort.js';
import { Waiters } from '../common/waiters.js';

export interface WorkQueueOptions<T> {
  /**
   * Order in which items leave: negative when `a` should go before `b`. Items that compare equal
   * keep their arrival order. @default arrival order
   */
  compare?: (a: T, b: T) => number;
}

const END: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * Work waiting to be submitted: a queue that agents add to and that task submitters take from,
 * waiting when it is empty. {@link close} says no more work will come; takers then get
 * `{ done: true }` once the queue is empty, and a task submitter fed by the queue returns.
 *
 * Pass `compare` for a priority queue, or reorder the waiting work at any time with
 * {@link replace} (e.g. after retraining a model).
 *
 * @example
 * readonly todo = new WorkQueue<number>([1, 2, 3]);
 *
 * \@taskSubmitter({ taskType: 'sim', workQueue: 'todo' })
 * async submit(x: number) {
 *   await this.queues.sendInputs('simulate', [x], { topic: 'sim' });
 * }
 */
export class WorkQueue<T> implements AsyncIterable<T> {
  readonly #compare: ((a: T, b: T) => number) | null;
  #items: T[] = [];
  #head = 0;
  readonly #takers = new Waiters<IteratorResult<T, undefined>>();
  #closed = false;

  constructor(items: Iterable<T> = [], options: WorkQueueOptions<T> = {}) {
    this.#compare = options.compare ?? null;
    if (this.#compare !== null && typeof this.#compare !== 'function') {
      throw new InvalidArgumentError(`WorkQueue: compare must be a function, got ${typeof this.#compare}`);
    }
    this.push(...items);
  }

  /** Items waiting. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Whether {@link close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closed and empty: nothing more will ever be taken. */
  get exhausted(): boolean {
    return this.#closed && this.size === 0;
  }

  /** Calls to {@link take} waiting for an item. */
  get waiting(): number {
    return this.#takers.size;
  }

  /**
   * Add work. A taker already waiting gets the first item at once.
   * @throws InvalidStateError after {@link close}.
   */
  push(...items: T[]): void {
    if (this.#closed) throw new InvalidStateError('This WorkQueue is closed: no work can be added after close()');
    for (const item of items) {
      if (!this.#takers.serve({ done: false, value: item })) this.#insert(item);
    }
  }

  /** Say no more work will be added; waiting takers get `{ done: true }` once the queue is empty. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Takers only wait when the queue is empty.
    this.#takers.settleAll({ value: END });
  }

  /**
   * Take the next item, waiting for one; `{ done: true }` once the queue is closed and empty.
   * @throws ColmenaTimeoutError after `timeoutMs`; the signal's reason when `signal` aborts (no item is taken).
   */
  take(options: WaitOptions = {}): Promise<IteratorResult<T, undefined>> {
    const ready = this.tryTake();
    if (ready !== null) return Promise.resolve(ready);
    return this.#takers.wait('an item of a work queue', options);
  }

  /** Take an item if one is waiting; `{ done: true }` if exhausted; `null` if it would have to wait. */
  tryTake(): IteratorResult<T, undefined> | null {
    if (this.size > 0) return { done: false, value: this.#shift() };
    return this.#closed ? END : null;
  }

  /** The item that would be taken next, without taking it. */
  peek(): T | undefined {
    return this.size > 0 ? this.#items[this.#head] : undefined;
  }

  /** The waiting items in the order they would be taken. */
  toArray(): T[] {
    return this.#items.slice(this.#head);
  }

  /** Remove every waiting item; returns them. */
  clear(): T[] {
    const removed = this.toArray();
    this.#items = [];
    this.#head = 0;
    return removed;
  }

  /**
   * Swap the waiting items for `items` (sorted by `compare` if the queue has one) and return the
   * old ones: the way to reprioritise. Allowed after {@link close}.
   */
  replace(items: Iterable<T>): T[] {
    const old = this.clear();
    const closed = this.#closed;
    this.#closed = false;
    try {
      this.push(...items);
    } finally {
      this.#closed = closed;
    }
    return old;
  }

  /** Iterate over items as they come until the queue is closed and empty. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const next = await this.take();
      if (next.done) return;
      yield next.value;
    }
  }

  #insert(item: T): void {
    const compare = this.#compare;
    if (compare === null || this.size === 0) {
      this.#items.push(item);
      return;
    }
    // Binary search for the first position whose item sorts after the new one.
    let lo = this.#head;
    let hi = this.#items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.#items[mid]!, item) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.#items.splice(lo, 0, item);
  }

  #shift(): T {
    const item = this.#items[this.#head]!;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
