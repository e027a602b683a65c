/** Wall-clock time in epoch seconds with sub-millisecond resolution, as Colmena records it. */
export function nowSeconds(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

/** Monotonic time in seconds, for measuring durations. */
export function monotonicSeconds(): number {
  return performance.now() / 1000;
}
