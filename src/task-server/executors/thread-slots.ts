/**
 * The table one worker thread and the task server share (a SharedArrayBuffer) to know, without a
 * message per task, which of the tasks queued on that thread has started and when. Each slot holds
 * one task handed to the thread: a word (state in the low bits, the slot's use count above them)
 * and the task's start time. The thread claims a slot (QUEUED → RUNNING) before it runs the task;
 * the server takes a task back (QUEUED → CANCELLED) to cancel it or to move it to another thread.
 * Both are one compare-and-swap, so a task is either started or taken back, never both. The use
 * count makes a stale entry (for a slot since reused) fail its claim.
 */

const QUEUED = 1;
const RUNNING = 2;
const CANCELLED = 3;
const STATE_BITS = 2;
/** Uses of one slot before its count wraps: far more than a stale entry can lag behind. */
const USE_MASK = 2 ** 28 - 1;

const word = (use: number, state: number): number => (use << STATE_BITS) | state;

export class ThreadSlots {
  readonly buffer: SharedArrayBuffer;
  readonly #words: Int32Array;
  /** When each slot's task started, in `process.hrtime` nanoseconds: one clock for every thread. */
  readonly #starts: BigInt64Array;
  /** The server's count of uses per slot (only the server writes it). */
  readonly #uses: Int32Array;

  /** A new table of `size` slots (the server), or the view of one made elsewhere (the thread). */
  constructor(sizeOrBuffer: number | SharedArrayBuffer) {
    this.buffer = typeof sizeOrBuffer === 'number' ? new SharedArrayBuffer(sizeOrBuffer * 12) : sizeOrBuffer;
    const size = this.buffer.byteLength / 12;
    this.#starts = new BigInt64Array(this.buffer, 0, size);
    this.#words = new Int32Array(this.buffer, size * 8, size);
    this.#uses = new Int32Array(size);
  }

  /** Server: put a new task in `slot`, queued; returns the use number its entry must carry. */
  offer(slot: number): number {
    const use = (this.#uses[slot]! + 1) & USE_MASK;
    this.#uses[slot] = use;
    Atomics.store(this.#words, slot, word(use, QUEUED));
    return use;
  }

  /** Thread: mark the task started now, unless the server took it back (then skip it). */
  claim(slot: number, use: number): boolean {
    // Written first: whoever reads RUNNING then reads this time (Atomics order the plain writes before them).
    Atomics.store(this.#starts, slot, process.hrtime.bigint());
    return Atomics.compareExchange(this.#words, slot, word(use, QUEUED), word(use, RUNNING)) === word(use, QUEUED);
  }

  /** Server: take a task back before its thread starts it; `false` when it has started. */
  takeBack(slot: number, use: number): boolean {
    return Atomics.compareExchange(this.#words, slot, word(use, QUEUED), word(use, CANCELLED)) === word(use, QUEUED);
  }

  /** Server: milliseconds since the task started, or `null` while it waits in the thread's queue. */
  runningForMs(slot: number, use: number): number | null {
    if (Atomics.load(this.#words, slot) !== word(use, RUNNING)) return null;
    return Number(process.hrtime.bigint() - Atomics.load(this.#starts, slot)) / 1e6;
  }
}
