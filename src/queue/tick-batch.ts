/**
 * Gathers what is ready together (sends started in one loop, results finished in one turn of the
 * event loop) and hands it over as one batch, so N sends cost one Redis round trip rather than N.
 * While a batch is on its way, what comes next waits for it and then goes as the next batch
 * (group commit): no delay when idle, larger batches under load, and batches in order. Every
 * item's promise settles with its batch.
 */
export class TickBatch<T> {
  #items: T[] = [];
  #waiters: { resolve(): void; reject(error: unknown): void }[] = [];
  #scheduled = false;
  #inFlight = false;
  readonly #flush: (items: T[]) => Promise<void>;

  constructor(flush: (items: T[]) => Promise<void>) {
    this.#flush = flush;
  }

  add(item: T): Promise<void> {
    this.#items.push(item);
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (!this.#scheduled && !this.#inFlight) {
      this.#scheduled = true;
      // After this turn's I/O callbacks, not after this callback's microtasks: replies from worker
      // threads arrive as one message event each, and a batch should hold all that came together.
      setImmediate(() => this.#run());
    }
    return done;
  }

  #run(): void {
    const items = this.#items;
    const waiters = this.#waiters;
    this.#items = [];
    this.#waiters = [];
    this.#scheduled = false;
    this.#inFlight = true;
    const settle = (outcome: (waiter: { resolve(): void; reject(error: unknown): void }) => void): void => {
      this.#inFlight = false;
      for (const waiter of waiters) outcome(waiter);
      if (this.#items.length > 0) this.#run();
    };
    this.#flush(items).then(
      () => settle((waiter) => waiter.resolve()),
      (error: unknown) => settle((waiter) => waiter.reject(error)),
    );
  }
}
