import { InvalidStateError } from './errors.js';
import type { WaitOptions } from './abort.js';
import { Waiters } from './waiters.js';

/**
 * An unbounded FIFO whose consumers `await` the next item. Waiters are served in arrival order;
 * a waiter that times out or is aborted leaves without taking an item.
 */
export class AsyncQueue<T> {
  #items: T[] = [];
  #head = 0;
  readonly #waiters = new Waiters<T>();
  #closed: Error | null = null;

  get size(): number {
    return this.#items.length - this.#head;
  }

  get waiting(): number {
    return this.#waiters.size;
  }

  push(item: T): void {
    if (this.#closed) throw this.#closed;
    if (!this.#waiters.serve(item)) this.#items.push(item);
  }

  /** Take the next item, waiting for one if the queue is empty. */
  shift(what: string, options: WaitOptions = {}): Promise<T> {
    if (this.size > 0) return Promise.resolve(this.#take());
    if (this.#closed) return Promise.reject(this.#closed);
    return this.#waiters.wait(what, options);
  }

  /** Take an item if one is ready. */
  tryShift(): T | undefined {
    return this.size > 0 ? this.#take() : undefined;
  }

  /** Drop every queued item; returns them. */
  clear(): T[] {
    const dropped = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return dropped;
  }

  /** Reject every current and future waiter. */
  close(reason: Error = new InvalidStateError('The queue is closed')): void {
    this.#closed = reason;
    this.#waiters.settleAll({ reason });
  }

  #take(): T {
    const item = this.#items[this.#head]!;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    // Compact now and then so the backing array does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
