import { InvalidStateError } from './errors.js';
import { throwIfAborted, type WaitOptions, watchWait } from './abort.js';

interface Waiter<T> {
  resolve(item: T): void;
  reject(reason: unknown): void;
}

/**
 * An unbounded FIFO whose consumers `await` the next item. Waiters are served in arrival order;
 * a waiter that times out or is aborted leaves without taking an item.
 */
export class AsyncQueue<T> {
  #items: T[] = [];
  #head = 0;
  #waiters: Waiter<T>[] = [];
  #closed: Error | null = null;

  get size(): number {
    return this.#items.length - this.#head;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  push(item: T): void {
    if (this.#closed) throw this.#closed;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(item);
    else this.#items.push(item);
  }

  /** Take the next item, waiting for one if the queue is empty. */
  shift(what: string, options: WaitOptions = {}): Promise<T> {
    if (this.size > 0) return Promise.resolve(this.#take());
    if (this.#closed) return Promise.reject(this.#closed);
    try {
      throwIfAborted(options.signal);
    } catch (reason) {
      return Promise.reject(reason);
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve: (item) => {
          detach();
          resolve(item);
        },
        reject: (reason) => {
          detach();
          reject(reason);
        },
      };
      const detach = watchWait(what, options, (reason) => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(reason);
      });
      this.#waiters.push(waiter);
    });
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
    for (const waiter of this.#waiters.splice(0)) waiter.reject(reason);
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
