/** Numeric helpers for summaries: quantiles and step functions of time. */

/** One point of a step function: `value` holds from `t` until the next point. */
export interface StepPoint {
  t: number;
  value: number;
}

/** Distribution of a set of durations. NaN throughout when there is none. */
export interface Distribution {
  count: number;
  mean: number;
  median: number;
  p95: number;
  max: number;
}

/** The q-quantile (0..1) of sorted values, interpolating linearly between ranks (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below]!;
  return low + (sorted[above]! - low) * (position - below);
}

/** Count, mean, median, 95th percentile and maximum of the finite values. */
export function distribution(values: readonly number[]): Distribution {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return { count: 0, mean: NaN, median: NaN, p95: NaN, max: NaN };
  let sum = 0;
  for (const v of sorted) sum += v;
  return { count: sorted.length, mean: sum / sorted.length, median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), max: sorted.at(-1)! };
}

/**
 * A step function from changes: each delta applies from its time on. Starts at 0 before the first
 * change; changes at the same time are merged.
 */
export function stepFromDeltas(deltas: readonly { t: number; delta: number }[]): StepPoint[] {
  const sorted = [...deltas].sort((a, b) => a.t - b.t);
  const points: StepPoint[] = [];
  let value = 0;
  for (const { t, delta } of sorted) {
    value += delta;
    const last = points.at(-1);
    if (last !== undefined && last.t === t) last.value = value;
    else points.push({ t, value });
  }
  return points;
}

/** The integral of a step function over [start, end]; 0 before its first point. */
export function integrate(points: readonly StepPoint[], start: number, end: number): number {
  let total = 0;
  for (let i = 0; i < points.length; i++) {
    const from = Math.max(points[i]!.t, start);
    const to = Math.min(points[i + 1]?.t ?? Infinity, end);
    if (to > from) total += points[i]!.value * (to - from);
  }
  return total;
}

/** The average of a step function over each of `bins` even bins of [start, end], one point per bin. */
export function binAverages(points: readonly StepPoint[], start: number, end: number, bins: number): StepPoint[] {
  const width = (end - start) / bins;
  const result: StepPoint[] = [];
  // One sweep: `next` is the first point not yet in effect at the cursor.
  let next = 0;
  let value = 0;
  for (let i = 0; i < bins; i++) {
    const from = start + i * width;
    const to = i === bins - 1 ? end : from + width;
    let cursor = from;
    let area = 0;
    while (next < points.length && points[next]!.t <= cursor) value = points[next++]!.value;
    while (next < points.length && points[next]!.t < to) {
      area += value * (points[next]!.t - cursor);
      cursor = points[next]!.t;
      value = points[next++]!.value;
    }
    area += value * (to - cursor);
    result.push({ t: from, value: area / (to - from) });
  }
  return result;
}

/** Smallest of the values (Infinity for none); unlike Math.min(...values), safe for long arrays. */
export function minOf(values: Iterable<number>): number {
  let min = Infinity;
  for (const v of values) if (v < min) min = v;
  return min;
}

/** Largest of the values (-Infinity for none). */
export function maxOf(values: Iterable<number>): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return max;
}

/**
 * Several step functions on one grid of times, so that they can be stacked or compared point by
 * point: the union of their change points within [start, end], or, past `maxPoints`, `maxPoints`
 * even bins holding each function's average. The grid ends with `end` (repeating the last
 * value) so that a chart draws the last step.
 */
export function alignSteps(series: readonly (readonly StepPoint[])[], start: number, end: number, maxPoints: number): { t: number[]; values: number[][] } {
  if (!(end > start)) return { t: [start], values: series.map((points) => valuesAt(points, [start])) };
  const times = [...new Set(series.flatMap((points) => points.map((p) => p.t)).filter((t) => t > start && t < end))].sort((a, b) => a - b);
  if (times.length + 1 > maxPoints) {
    const values = series.map((points) => binAverages(points, start, end, maxPoints).map((p) => p.value));
    const width = (end - start) / maxPoints;
    for (const v of values) v.push(v.at(-1) ?? 0);
    return { t: [...Array.from({ length: maxPoints }, (_, i) => start + i * width), end], values };
  }
  const grid = [start, ...times, end];
  return { t: grid, values: series.map((points) => valuesAt(points, grid)) };
}

/** A step function's value at each of the sorted times. */
function valuesAt(points: readonly StepPoint[], sortedTimes: readonly number[]): number[] {
  let next = 0;
  let value = 0;
  return sortedTimes.map((t) => {
    while (next < points.length && points[next]!.t <= t) value = points[next++]!.value;
    return value;
  });
}
