/**
 * The quickstart's two task methods. Worker threads import this module by its URL (functions
 * cannot cross threads), so it holds nothing but the methods.
 */

/** The function to minimize: f(x) = x². */
export function targetFunction(x: number): number {
  return x ** 2;
}

/**
 * The search step: a new guess within ±0.5 of the best guess so far. The seed makes each guess
 * reproducible (a small mulberry32 generator).
 */
export function taskGenerator(bestToDate: number, seed: number): number {
  let t = (seed + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  const random = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  return bestToDate + random - 0.5;
}
