/**
 * Gathers what is ready together (sends started in one loop, results finished in one turn of the
 * event loop) and hands it over as one batch, so N sends cost one Redis round trip rather than N.
 * While a batch is on its way, what comes next waits for it and then goes as the next batch
 * (group commit): no delay when idle, larger batches under load, and batches in order. A batch
 * that reaches `maxItems` goes at once, even with another on its way (the caller's one connection
 * keeps them in order): thousands of sends in one loop then reach the other side while the loop
 * still runs, instead of all after it. Every item of a batch gets the batch's one promise, which
 * settles when the batch lands: no promise, closure or waiter record per item (with thousands of
 * items per batch, those were a good part of the garbage per task).
 */
export class TickBatch<T> {
  #items: T[] = [];
  /** The promise of the batch being gathered, and how to settle it; null while nothing is gathered. */
  #gathering: { done: Promise<void>; resolve(): void; reject(error: unknown): void } | null = null;
  #scheduled = false;
  /** Batches handed over and not yet landed. */
  #inFlight = 0;
  readonly #flush: (items: T[]) => Promise<void>;
  readonly #maxItems: number;

  constructor(flush: (items: T[]) => Promise<void>, options: { maxItems?: number } = {}) {
    this.#flush = flush;
    this.#maxItems = options.maxItems ?? Number.POSITIVE_INFINITY;
  }

  add(item: T): Promise<void> {
    this.#items.push(item);
    this.#gathering ??= TickBatch.#deferred();
    const done = this.#gathering.done;
    if (this.#items.length >= this.#maxItems) {
      this.#send();
    } else if (!this.#scheduled && this.#inFlight === 0) {
      this.#scheduled = true;
      // After this turn's I/O callbacks, not after this callback's microtasks: replies from worker
      // threads arrive as one message event each, and a batch should hold all that came together.
      setImmediate(() => {
        this.#scheduled = false;
        if (this.#inFlight === 0) this.#send();
      });
    }
    return done;
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

  #send(): void {
    const batch = this.#gathering;
    if (!batch) return; // a full batch already took what this turn gathered
    const items = this.#items;
    this.#items = [];
    this.#gathering = null;
    this.#inFlight++;
    const landed = (): void => {
      this.#inFlight--;
      if (this.#inFlight === 0 && this.#items.length > 0) this.#send();
    };
    this.#flush(items).then(
      () => {
        landed();
        batch.resolve();
      },
      (error: unknown) => {
        landed();
        batch.reject(error);
      },
    );
  }
}
