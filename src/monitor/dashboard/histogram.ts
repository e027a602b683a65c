/**
 * A fixed-size histogram of durations on a log scale: 16 bins per decade from 100 ns to 1e5 s, so
 * a quantile read from it is within about 7 % of the true one, whatever the number of tasks. The
 * mean and maximum are exact.
 */
const PER_DECADE = 16;
const MIN_EXPONENT = -7;
const MAX_EXPONENT = 5;
const BINS = (MAX_EXPONENT - MIN_EXPONENT) * PER_DECADE + 1;

export interface HistogramSummary {
  count: number;
  mean: number;
  median: number;
  p95: number;
  max: number;
}

export class LogHistogram {
  #counts = new Array<number>(BINS).fill(0);
  #count = 0;
  #sum = 0;
  #max = -Infinity;

  /** Count one duration in seconds (NaN and infinities are ignored; zero and negatives go in the first bin). */
  add(seconds: number): void {
    if (!Number.isFinite(seconds)) return;
    this.#counts[binOf(seconds)]!++;
    this.#count++;
    this.#sum += seconds;
    if (seconds > this.#max) this.#max = seconds;
  }

  get count(): number {
    return this.#count;
  }

  get mean(): number {
    return this.#count === 0 ? NaN : this.#sum / this.#count;
  }

  /** The q-quantile (0..1): the geometric middle of the bin it falls in, never above the maximum. */
  quantile(q: number): number {
    if (this.#count === 0) return NaN;
    const rank = q * (this.#count - 1);
    let seen = 0;
    for (let i = 0; i < BINS; i++) {
      seen += this.#counts[i]!;
      if (seen > rank) return Math.min(middleOf(i), this.#max);
    }
    return this.#max;
  }

  summary(): HistogramSummary {
    return { count: this.#count, mean: this.mean, median: this.quantile(0.5), p95: this.quantile(0.95), max: this.#count === 0 ? NaN : this.#max };
  }

  /** Non-empty bins as [index, count] pairs, for a checkpoint. */
  toJSON(): { bins: [number, number][]; sum: number; max: number } {
    const bins: [number, number][] = [];
    this.#counts.forEach((count, i) => count > 0 && bins.push([i, count]));
    return { bins, sum: this.#sum, max: this.#count === 0 ? 0 : this.#max };
  }

  static restore(saved: ReturnType<LogHistogram['toJSON']>): LogHistogram {
    const histogram = new LogHistogram();
    for (const [i, count] of saved.bins) {
      if (i >= 0 && i < BINS) {
        histogram.#counts[i] = count;
        histogram.#count += count;
      }
    }
    histogram.#sum = saved.sum;
    histogram.#max = histogram.#count === 0 ? -Infinity : saved.max;
    return histogram;
  }
}

function binOf(seconds: number): number {
  if (seconds <= 10 ** MIN_EXPONENT) return 0;
  return Math.min(BINS - 1, 1 + Math.floor((Math.log10(seconds) - MIN_EXPONENT) * PER_DECADE));
}

function middleOf(bin: number): number {
  if (bin === 0) return 10 ** MIN_EXPONENT;
  return 10 ** (MIN_EXPONENT + (bin - 0.5) / PER_DECADE);
}
