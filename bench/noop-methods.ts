/** Methods the benchmarks run. */
export function noop(): void {}
