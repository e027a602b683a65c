import { InvalidArgumentError, InvalidStateError } from '../common/errors.js';
import { type Logger, childLogger } from '../common/logging.js';
import { AsyncEvent } from './async-event.js';
import type { ResourceCounter } from './resource-counter.js';

export interface ReallocatorOptions<T extends string = string> {
  /** Pool to take slots from (`null`: the unallocated slots). */
  gatherFrom: T | null;
  /** Pool to put the gathered slots in. */
  gatherTo: T | null;
  /** Pool that receives every slot of `gatherTo` once the reallocator is stopped. */
  disperseTo: T | null;
  /** Stop gathering once `gatherTo` holds this many slots; `null` for no cap. @default null */
  maxSlots?: number | null;
  /** Slots moved per step. @default 1 */
  slotStep?: number;
  /** @default a child of the library's logger named `thinker.reallocator` */
  logger?: Logger;
}

type State = 'created' | 'gathering' | 'stopping' | 'stopped';

/**
 * Borrows slots for a while: once started, moves slots from `gatherFrom` to `gatherTo` in steps
 * of `slotStep` (each step waits, in line, for free slots) until `gatherTo` holds `maxSlots` or
 * {@link stop} is called; then moves every slot of `gatherTo` to `disperseTo`, waiting for the
 * ones in use to be released.
 *
 * @example
 * const borrow = new Reallocator(rec, { gatherFrom: 'simulation', gatherTo: 'training', disperseTo: 'simulation', maxSlots: 4 }).start();
 * await rec.acquire('training', 4);
 * // ... train, release the slots ...
 * await borrow.stop(); // every training slot is back in 'simulation'
 */
export class Reallocator<T extends string = string> {
  readonly counter: ResourceCounter<T>;
  readonly gatherFrom: T | null;
  readonly gatherTo: T | null;
  readonly disperseTo: T | null;
  readonly maxSlots: number | null;
  readonly slotStep: number;
  readonly #logger: Logger;
  readonly #stopEvent = new AsyncEvent();
  #state: State = 'created';
  #run: Promise<void> | null = null;
  #gathered = 0;

  constructor(counter: ResourceCounter<T>, options: ReallocatorOptions<T>) {
    this.counter = counter;
    this.gatherFrom = options.gatherFrom;
    this.gatherTo = options.gatherTo;
    this.disperseTo = options.disperseTo;
    this.maxSlots = options.maxSlots ?? null;
    this.slotStep = options.slotStep ?? 1;
    for (const [name, pool] of [
      ['gatherFrom', this.gatherFrom],
      ['gatherTo', this.gatherTo],
      ['disperseTo', this.disperseTo],
    ] as const) {
      if (pool === undefined) throw new InvalidArgumentError(`Reallocator needs '${name}' (a pool name, or null for the unallocated slots)`);
      counter.allocatedSlots(pool); // throws UnknownPoolError, naming the pools that exist
    }
    if (this.gatherFrom === this.gatherTo) {
      throw new InvalidArgumentError(`Reallocator: gatherFrom and gatherTo are both ${String(this.gatherFrom)}; they must differ`);
    }
    if (this.maxSlots !== null && !(Number.isSafeInteger(this.maxSlots) && this.maxSlots >= 0)) {
      throw new InvalidArgumentError(`Reallocator: maxSlots must be a non-negative integer or null, got ${String(this.maxSlots)}`);
    }
    if (!(Number.isSafeInteger(this.slotStep) && this.slotStep >= 1)) {
      throw new InvalidArgumentError(`Reallocator: slotStep must be a positive integer, got ${String(this.slotStep)}`);
    }
    this.#logger = options.logger ?? childLogger('thinker.reallocator');
  }

  /** Slots moved into `gatherTo` so far by this reallocator. */
  get gathered(): number {
    return this.#gathered;
  }

  get state(): State {
    return this.#state;
  }

  /** Begin gathering slots in the background. */
  start(): this {
    if (this.#state !== 'created') throw new InvalidStateError(`start() needs a new Reallocator; this one is ${this.#state}`);
    this.#state = 'gathering';
    this.#run = this.#gatherThenDisperse();
    // Failures surface through stop(); keep them from being reported as unhandled meanwhile.
    this.#run.catch(() => {});
    return this;
  }

  /**
   * Stop gathering (a step waiting for slots is cancelled) and move every slot of `gatherTo` to
   * `disperseTo`. Resolves once they have moved. Calling it again returns the same promise.
   */
  stop(): Promise<void> {
    if (this.#state === 'created') {
      this.#state = 'stopped';
      this.#run = Promise.resolve();
    }
    this.#stopEvent.set();
    return this.#run!;
  }

  async #gatherThenDisperse(): Promise<void> {
    const { counter, gatherFrom, gatherTo, disperseTo, maxSlots } = this;
    this.#logger.debug({ gatherFrom, gatherTo, disperseTo, maxSlots, slotStep: this.slotStep }, 'gathering slots');
    try {
      while (!this.#stopEvent.isSet()) {
        const room = maxSlots === null ? this.slotStep : Math.min(this.slotStep, maxSlots - counter.allocatedSlots(gatherTo));
        if (room <= 0) break;
        try {
          await counter.reallocate(gatherFrom, gatherTo, room, { signal: this.#stopEvent.signal });
        } catch (error) {
          if (this.#stopEvent.isSet()) break;
          throw error;
        }
        this.#gathered += room;
      }
      await this.#stopEvent.wait();
      this.#state = 'stopping';
      if (gatherTo !== disperseTo) await counter.reallocate(gatherTo, disperseTo, 'all');
      this.#logger.debug({ gathered: this.#gathered, disperseTo }, 'dispersed the gathered slots');
    } finally {
      this.#state = 'stopped';
    }
  }
}
