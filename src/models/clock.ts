/**
 * Wall-clock time in epoch seconds, to the microsecond (Python's `datetime` resolution; finer
 * digits were noise at this magnitude anyway: one step of a double near 1.8e9 is 0.24 µs).
 * Rounded so the wire carries 16 digits rather than 17: shorter numbers are quicker both to write
 * and to parse, and every message carries up to eight of them.
 */
export function nowSeconds(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1e6;
}

/** Monotonic time in seconds, for measuring durations. */
export function monotonicSeconds(): number {
  return performance.now() / 1000;
}

/**
 * Seconds from `startedMs` to `endedMs` (`performance.now()` readings; the end defaults to now),
 * to the nanosecond: a duration on the wire then has a few digits rather than seventeen, which the
 * reading side parses in half the time (see {@link nowSeconds}).
 */
export function secondsSince(startedMs: number, endedMs = performance.now()): number {
  return Math.round((endedMs - startedMs) * 1e6) / 1e9;
}
