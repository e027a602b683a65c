/** The generator `npm run bench -- stream` streams from a worker thread. */

/** Yields `count` wall-clock timestamps (ms since the epoch, sub-ms precision), `intervalMs` apart. */
export async function* ticks(count: number, intervalMs: number): AsyncGenerator<number, void> {
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    yield performance.timeOrigin + performance.now();
  }
}
