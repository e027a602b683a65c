/**
 * Gathers what is ready in the same tick (sends started in one loop, results finished together)
 * and hands it over as one batch, so N sends cost one Redis round trip rather than N. Every item's
 * promise settles with its batch.
 */
export class TickBatch<T> {
  #items: T[] = [];
  #waiters: { resolve(): void; reject(error: unknown): void }[] = [];
  #scheduled = false;
  readonly #flush: (items: T[]) => Promise<void>;

  constructor(flush: (items: T[]) => Promise<void>) {
    this.#flush = flush;
  }

  add(item: T): Promise<void> {
    this.#items.push(item);
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (!this.#scheduled) {
      this.#scheduled = true;
      // A microtask: after every send started synchronously by the caller, before any I/O.
      process.nextTick(() => this.#run());
    }
    return done;
  }

  #run(): void {
    const items = this.#items;
    const waiters = this.#waiters;
    this.#items = [];
    this.#waiters = [];
    this.#scheduled = false;
    this.#flush(items).then(
      () => {
        for (const waiter of waiters) waiter.resolve();
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error);
      },
    );
  }
}
