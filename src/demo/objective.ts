/**
 * The demo's "simulation": the Hartmann 6-dimensional test function on the unit cube (global
 * minimum about -3.32237), computed for real, after a burst of honest work so tasks take a
 * varying time. Loaded by the worker threads.
 */
import { seededRandom, uniformPoint } from '../common/random.js';

const ALPHA = [1.0, 1.2, 3.0, 3.2];
const A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
].map((row) => row.map((v) => v * 1e-4));

export const HARTMANN6_MINIMUM = -3.32237;

export function hartmann6(x: readonly number[]): number {
  if (x.length !== 6) throw new RangeError(`hartmann6 takes 6 coordinates, got ${x.length}`);
  let total = 0;
  for (let i = 0; i < 4; i++) {
    let inner = 0;
    for (let j = 0; j < 6; j++) inner += A[i]![j]! * (x[j]! - P[i]![j]!) ** 2;
    total -= ALPHA[i]! * Math.exp(-inner);
  }
  return total;
}

/**
 * Relative cost of simulating a design: between 0.25 and 1.75 (mean 1), varying irregularly from
 * point to point, as the cost of real simulations does.
 */
export function relativeCost(x: readonly number[]): number {
  const phase = x.reduce((sum, v, i) => sum + v * (i + 1), 0) * 97.1;
  return 0.25 + 1.5 * (phase - Math.floor(phase));
}

/**
 * The demo's simulation: evaluate the objective after `workMs × relativeCost(x)` milliseconds of
 * busy computation (a stand-in for the cost of a real simulation).
 */
export function simulate(x: readonly number[], workMs: number): number {
  const until = performance.now() + workMs * relativeCost(x);
  let sink = 0;
  while (performance.now() < until) for (let i = 0; i < 1000; i++) sink += Math.sqrt(i + sink);
  return hartmann6(x) + sink * 0;
}

/**
 * The baseline: the best of `budget` designs drawn at random from the same seeded stream as the
 * campaign's initial designs (so both start from the same points).
 */
export function randomSearch(budget: number, seed: number): { best: number; bestPoint: number[] } {
  const random = seededRandom(seed);
  let best = Infinity;
  let bestPoint: number[] = [];
  for (let i = 0; i < budget; i++) {
    const x = uniformPoint(random, 6);
    const value = hartmann6(x);
    if (value < best) {
      best = value;
      bestPoint = x;
    }
  }
  return { best, bestPoint };
}
