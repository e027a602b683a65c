/**
 * Gathers what is ready together (sends started in one loop, results finished in one turn of the
 * event loop) and hands it over as one batch, so N sends cost one Redis round trip rather than N.
 * While a batch is on its way, what comes next waits for it and then goes as the next batch
 * (group commit): no delay when idle, larger batches under load, and batches in order. Every item
 * of a batch gets the batch's one promise, which settles when the batch lands: no promise,
 * closure or waiter record per item (with thousands of items per batch, those were a good part
 * of the garbage per task).
 */
export class TickBatch<T> {
  #items: T[] = [];
  /** The promise of the batch being gathered, and how to settle it; null while nothing is gathered. */
  #gathering: { done: Promise<void>; resolve(): void; reject(error: unknown): void } | null = null;
  #scheduled = false;
  #inFlight = false;
  readonly #flush: (items: T[]) => Promise<void>;

  constructor(flush: (items: T[]) => Promise<void>) {
    this.#flush = flush;
  }

  add(item: T): Promise<void> {
    this.#items.push(item);
    this.#gathering ??= TickBatch.#deferred();
    if (!this.#scheduled && !this.#inFlight) {
      this.#scheduled = true;
      // After this turn's I/O callbacks, not after this callback's microtasks: replies from worker
      // threads arrive as one message event each, and a batch should hold all that came together.
      setImmediate(() => this.#run());
    }
    return this.#gathering.done;
  }

  static #deferred(): { done: Promise<void>; resolve(): void; reject(error: unknown): void } {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A batch nobody awaits (every caller gone) must not become an unhandled rejection; callers
    // that await it still see the error.
    done.catch(() => {});
    return { done, resolve, reject };
  }

  #run(): void {
    const items = this.#items;
    const batch = this.#gathering!;
    this.#items = [];
    this.#gathering = null;
    this.#scheduled = false;
    this.#inFlight = true;
    const settle = (): void => {
      this.#inFlight = false;
      if (this.#items.length > 0) this.#run();
    };
    this.#flush(items).then(
      () => {
        settle();
        batch.resolve();
      },
      (error: unknown) => {
        settle();
        batch.reject(error);
      },
    );
  }
}
