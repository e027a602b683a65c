/**
 * Bounded time series for the live charts. Time is divided into even bins that double in width
 * (pairs merge) whenever the campaign outgrows `maxBins`, so a chart of a week-long campaign holds
 * as many points as one of a minute. Every series shares one {@link BinClock}, so series drawn
 * together stay aligned.
 */

export class BinClock {
  /** Current width of a bin, in seconds: `baseSeconds` times a power of two. */
  width: number;
  readonly maxBins: number;

  constructor(baseSeconds = 0.25, maxBins = 240) {
    this.width = baseSeconds;
    this.maxBins = maxBins;
  }

  /** Widen the bins until time `t` (seconds since the origin) fits. */
  cover(t: number): void {
    while (t >= this.width * this.maxBins) this.width *= 2;
  }
}

/** Areas (value × seconds) per bin: averages over each bin come out of it. */
export class Bins {
  readonly #clock: BinClock;
  #width: number;
  #areas: number[] = [];

  constructor(clock: BinClock) {
    this.#clock = clock;
    this.#width = clock.width;
  }

  /** Add `value` over [from, to) (seconds since the origin; times before 0 are dropped). */
  add(from: number, to: number, value: number): void {
    from = Math.max(0, from);
    if (!(to > from) || value === 0 || !Number.isFinite(value)) return;
    this.#clock.cover(to);
    this.#sync();
    const w = this.#width;
    const areas = this.#areas;
    let bin = Math.floor(from / w);
    const last = Math.floor(to / w);
    while (areas.length <= last) areas.push(0);
    for (let t = from; bin <= last; bin++) {
      const end = Math.min(to, (bin + 1) * w);
      if (end > t) areas[bin]! += value * (end - t);
      t = end;
    }
  }

  /** Average value in each bin up to `now` (the last bin averaged over its elapsed part). */
  averages(now: number): number[] {
    this.#clock.cover(now);
    this.#sync();
    const w = this.#width;
    const count = Math.floor(now / w) + 1;
    const out: number[] = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      const span = i === count - 1 ? Math.max(now - i * w, 1e-9) : w;
      out[i] = (this.#areas[i] ?? 0) / span;
    }
    return out;
  }

  /** The areas, for a checkpoint. */
  toJSON(): { width: number; areas: number[] } {
    return { width: this.#width, areas: this.#areas };
  }

  /** Restore from {@link toJSON} (the clock must be at least as wide). */
  restore(saved: { width: number; areas: number[] }): void {
    this.#width = saved.width;
    this.#areas = [...saved.areas];
    this.#sync();
  }

  /** Merge pairs of bins until they are as wide as the clock's. */
  #sync(): void {
    while (this.#width < this.#clock.width) {
      const merged: number[] = [];
      for (let i = 0; i < this.#areas.length; i += 2) merged.push(this.#areas[i]! + (this.#areas[i + 1] ?? 0));
      this.#areas = merged;
      this.#width *= 2;
    }
  }
}

/** A step function (a value that holds until it changes) accumulated into bins. */
export class StepBins {
  readonly bins: Bins;
  #t = 0;
  #value = 0;

  constructor(clock: BinClock) {
    this.bins = new Bins(clock);
  }

  get value(): number {
    return this.#value;
  }

  /** The value becomes `value` at time `t`; times must not go backwards (an earlier one counts as `t` of the last change). */
  set(t: number, value: number): void {
    const at = Math.max(t, this.#t);
    this.bins.add(this.#t, at, this.#value);
    this.#t = at;
    this.#value = value;
  }

  /** Averages up to `now`, the current value held until then. */
  averages(now: number): number[] {
    this.set(now, this.#value);
    return this.bins.averages(now);
  }

  toJSON(): { t: number; value: number; bins: ReturnType<Bins['toJSON']> } {
    return { t: this.#t, value: this.#value, bins: this.bins.toJSON() };
  }

  restore(saved: ReturnType<StepBins['toJSON']>): void {
    this.#t = saved.t;
    this.#value = saved.value;
    this.bins.restore(saved.bins);
  }
}
