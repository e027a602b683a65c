import { invalidArgument } from '../common/errors.js';
import type { StopSignal } from '../common/stop-signal.js';

/** A task waiting for a slot: `grant` hands it one; `gone` once it left the line (aborted). */
interface SlotWaiter {
  grant: () => void;
  gone: boolean;
}

/**
 * The free places of one executor that declares its `capacity`. The task server takes a slot
 * before handing a task over and starts the task's timeout only then, so `timeoutMs` counts
 * running time rather than time queued inside a thread or process pool. Tasks that find every slot
 * taken wait here, first come first served, and leave the line at once when their stop signal
 * aborts (a cancel, a server stop with `abortAfterMs`, a queue timeout).
 *
 * Taking a free slot is a counter check with no allocation, so the gate costs the local path
 * nothing when a slot is free; a released slot goes straight to the longest waiter, within the
 * same tick as the reply that freed it, so the executor is not left idle.
 */
export class ExecutorSlots {
  readonly capacity: number;
  #busy = 0;
  /** Waiters in arrival order from `#head`; an aborted one stays in place, marked `gone`, until reached. */
  #line: (SlotWaiter | undefined)[] = [];
  #head = 0;
  /** Waiters in the line that have not left it. */
  #waiting = 0;
  /** Slots whose worker is out of service for now (being replaced after a kill or a crash). */
  #unavailable = 0;

  /** @param owner names the executor in the error for a bad capacity. */
  constructor(capacity: number, owner: string) {
    if (!(Number.isSafeInteger(capacity) && capacity >= 1)) {
      throw invalidArgument(`executor '${owner}'`, 'capacity', 'a whole number of tasks, at least 1 (or leave it undefined for no limit)', capacity);
    }
    this.capacity = capacity;
  }

  /** Slots taken. */
  get busy(): number {
    return this.#busy;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Take a slot if one is free and nobody waits ahead; `false` when the caller must wait ({@link runWhenFree}). */
  tryTake(): boolean {
    if (this.#busy >= this.capacity - this.#unavailable || this.#waiting > 0) return false;
    this.#busy++;
    return true;
  }

  /**
   * Call `start` holding a slot, once one is free: from inside the {@link release} that frees it,
   * so the next task reaches the executor on the same tick as the reply that freed its worker.
   * Resolves with what `start` resolves with (give the slot back with {@link release} after), or
   * `null` without a slot, `start` never called, if `stop` aborts first.
   */
  runWhenFree<T>(stop: StopSignal, start: () => Promise<T>): Promise<T | null> {
    if (stop.aborted) return Promise.resolve(null);
    if (this.tryTake()) return start();
    return new Promise<T | null>((resolve) => {
      const onAbort = (): void => {
        waiter.gone = true;
        this.#waiting--;
        resolve(null);
        // The line may now be all leavers; trim them so it does not grow while slots stay busy.
        this.#skipGone();
      };
      const waiter: SlotWaiter = {
        gone: false,
        grant: () => {
          stop.removeEventListener('abort', onAbort);
          try {
            resolve(start());
          } catch (error) {
            resolve(Promise.reject(error));
          }
        },
      };
      stop.addEventListener('abort', onAbort, { once: true });
      this.#line.push(waiter);
      this.#waiting++;
    });
  }

  /** Give a slot back: the longest waiter gets it at once, else it becomes free. */
  release(): void {
    this.#busy--;
    this.#serve();
  }

  /**
   * How many slots' workers are out of service (a thread being replaced): while they are, fewer
   * tasks are started, so none is handed to a worker that is not there yet and spends its timeout
   * on the replacement's start-up.
   */
  setUnavailable(count: number): void {
    this.#unavailable = Math.max(0, Math.min(count, this.capacity));
    this.#serve();
  }

  /** Start waiters, longest first, while slots are free. */
  #serve(): void {
    this.#skipGone();
    while (this.#waiting > 0 && this.#busy < this.capacity - this.#unavailable) {
      const waiter = this.#line[this.#head]!;
      this.#line[this.#head++] = undefined;
      this.#waiting--;
      this.#busy++;
      waiter.grant();
      this.#skipGone();
    }
  }

  #skipGone(): void {
    while (this.#head < this.#line.length && this.#line[this.#head]!.gone) this.#line[this.#head++] = undefined;
    this.#compact();
  }

  /** Drop the served prefix now and then, so the backing array does not grow without bound. */
  #compact(): void {
    if (this.#head === this.#line.length) {
      this.#line.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#line.length) {
      this.#line = this.#line.slice(this.#head);
      this.#head = 0;
    }
  }
}
