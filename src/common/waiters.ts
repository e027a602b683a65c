import { throwIfAborted, type WaitOptions, watchWait } from './abort.js';

interface Waiter<T> {
  settle(outcome: { value: T } | { reason: unknown }): void;
}

/**
 * Consumers waiting for items, served in arrival order — the half of a FIFO with waiters that
 * every queue in the library shares. A waiter that times out or is aborted leaves the line without
 * taking anything.
 */
export class Waiters<T> {
  #line: Waiter<T>[] = [];

  get size(): number {
    return this.#line.length;
  }

  /** Hand `value` to the longest-waiting consumer; `false` when nobody waits. */
  serve(value: T): boolean {
    const waiter = this.#line.shift();
    waiter?.settle({ value });
    return waiter !== undefined;
  }

  /** Settle every waiter at once: with `value`, or rejected with `reason`. */
  settleAll(outcome: { value: T } | { reason: unknown }): void {
    for (const waiter of this.#line.splice(0)) waiter.settle(outcome);
  }

  /** Join the line; `what` names the awaited thing in a timeout's message. */
  wait(what: string, options: WaitOptions = {}): Promise<T> {
    try {
      throwIfAborted(options.signal);
    } catch (reason) {
      return Promise.reject(reason);
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        settle: (outcome) => {
          detach();
          if ('value' in outcome) resolve(outcome.value);
          else reject(outcome.reason);
        },
      };
      const detach = watchWait(what, options, (reason) => {
        const index = this.#line.indexOf(waiter);
        if (index >= 0) this.#line.splice(index, 1);
        reject(reason);
      });
      this.#line.push(waiter);
    });
  }
}
