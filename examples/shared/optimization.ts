/**
 * The problem the three optimizer demos (batch, streaming, interleaved) share, and the task
 * methods they run on worker threads: a simulation with a varying cost, a task generator, and a
 * task reprioritizer. Worker threads import this module by URL, so it imports only the
 * dependency-free seeded generator.
 *
 * The objective is a tilted bowl with faint ripples on the unit cube in four dimensions; its
 * minimum, 0, is at {@link OPTIMUM}. The generator's model is deliberately small: a quadratic
 * response surface fitted by least squares, with a bonus for points far from any result.
 */
import { seededRandom } from '../../src/common/random.js';

export { seededRandom };

export const DIMENSIONS = 4;
export const OPTIMUM = [0.3, 0.7, 0.45, 0.6];
const WEIGHTS = [1, 2, 1.5, 3];

/** A point in the design space and the objective's value there. */
export interface Observation {
  x: number[];
  value: number;
}

export function objective(x: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < DIMENSIONS; i++) {
    const d = x[i]! - OPTIMUM[i]!;
    total += WEIGHTS[i]! * d * d + 0.005 * (1 - Math.cos(8 * Math.PI * d));
  }
  return total;
}

/**
 * The simulation: the objective, after `workMs` × (0.2 to 1.8, depending on the point)
 * milliseconds of busy computation, so tasks take unequal times as real simulations do.
 */
export function simulate(x: number[], workMs: number): number {
  const phase = x.reduce((sum, v, i) => sum + v * (i + 3), 0) * 53.7;
  const until = performance.now() + workMs * (0.2 + 1.6 * (phase - Math.floor(phase)));
  let sink = 0;
  while (performance.now() < until) for (let i = 0; i < 500; i++) sink += Math.sqrt(i + sink);
  return objective(x) + sink * 0;
}

export function randomPoint(random: () => number): number[] {
  return Array.from({ length: DIMENSIONS }, () => random());
}

/** The terms of a full quadratic in x: 1, each x_i, and each product x_i·x_j (i ≤ j). */
function features(x: readonly number[]): number[] {
  const terms = [1, ...x];
  for (let i = 0; i < DIMENSIONS; i++) for (let j = i; j < DIMENSIONS; j++) terms.push(x[i]! * x[j]!);
  return terms;
}

/**
 * The generator's model: a quadratic response surface fitted to the results by least squares (a
 * little ridge regularization keeps it defined with few points). Returns its prediction.
 */
export function fitQuadratic(database: readonly Observation[]): (x: readonly number[]) => number {
  const rows = database.map((o) => features(o.x));
  const p = rows[0]?.length ?? features(OPTIMUM).length;
  // Normal equations (AᵀA + λI) w = Aᵀy, solved by Gaussian elimination with partial pivoting.
  const m = Array.from({ length: p }, (_, i) => Array.from({ length: p + 1 }, (_, j) => (i === j ? 1e-6 : 0)));
  rows.forEach((row, k) => {
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) m[i]![j]! += row[i]! * row[j]!;
      m[i]![p]! += row[i]! * database[k]!.value;
    }
  });
  for (let c = 0; c < p; c++) {
    let pivot = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[pivot]![c]!)) pivot = r;
    [m[c], m[pivot]] = [m[pivot]!, m[c]!];
    for (let r = c + 1; r < p; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let j = c; j <= p; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  const w = new Array<number>(p).fill(0);
  for (let r = p - 1; r >= 0; r--) {
    let sum = m[r]![p]!;
    for (let j = r + 1; j < p; j++) sum -= m[r]![j]! * w[j]!;
    w[r] = sum / m[r]![r]!;
  }
  return (x) => features(x).reduce((sum, f, i) => sum + f * w[i]!, 0);
}

/** Distance from `x` to the nearest point already simulated. */
function nearest(x: readonly number[], database: readonly Observation[]): number {
  let best = Infinity;
  for (const { x: seen } of database) best = Math.min(best, seen.reduce((d, v, i) => d + (v - x[i]!) ** 2, 0));
  return Math.sqrt(best);
}

/** Scores (lower is better) of points: the model's prediction, minus a bonus for unexplored regions. */
function scorer(database: readonly Observation[]): (x: readonly number[]) => number {
  const predict = fitQuadratic(database);
  const exploration = 0.3 / database.length;
  return (x) => predict(x) - exploration * nearest(x, database);
}

/** Results needed before the model is trusted; until then the generator draws random points. */
const MIN_RESULTS = 8;

/**
 * The task generator: `count` new points to simulate, best first. Candidates are drawn at random
 * and around the best results so far (closer as results accumulate), then ranked by the fitted
 * quadratic. With too few results for a model, it returns random points.
 */
export function generateTasks(database: Observation[], count: number, seed: number): number[][] {
  const random = seededRandom(seed);
  if (database.length < MIN_RESULTS) return Array.from({ length: count }, () => randomPoint(random));
  const score = scorer(database);
  const best = [...database].sort((a, b) => a.value - b.value).slice(0, 3);
  const width = Math.max(0.02, 0.3 / Math.sqrt(database.length));
  const candidates: number[][] = [];
  for (let i = 0; i < 200; i++) candidates.push(randomPoint(random));
  for (const { x } of best) {
    for (let i = 0; i < 100; i++) candidates.push(x.map((v) => Math.min(1, Math.max(0, v + width * (2 * random() - 1)))));
  }
  const ranked = candidates.map((x) => ({ x, s: score(x) })).sort((a, b) => a.s - b.s);
  const chosen: number[][] = [];
  for (const { x } of ranked) {
    if (chosen.length === count) break;
    // Keep a batch from piling onto one spot.
    if (chosen.every((c) => c.reduce((d, v, i) => d + (v - x[i]!) ** 2, 0) > (width / 4) ** 2)) chosen.push(x);
  }
  while (chosen.length < count) chosen.push(randomPoint(random));
  return chosen;
}

/**
 * The reprioritizer of the interleaved optimizer: the order in which to run `tasks` given the
 * results so far (indices into `tasks`, most promising first), plus `fresh` new points from
 * {@link generateTasks}.
 */
export function reprioritize(database: Observation[], tasks: number[][], fresh: number, seed: number): { order: number[]; fresh: number[][] } {
  if (database.length < MIN_RESULTS) return { order: tasks.map((_, i) => i), fresh: generateTasks(database, fresh, seed) };
  const score = scorer(database);
  const scores = tasks.map((x) => score(x));
  const order = tasks.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  return { order, fresh: generateTasks(database, fresh, seed) };
}

/** The baseline: the best of `budget` random points from the seeded stream. */
export function randomSearch(budget: number, seed: number): number {
  const random = seededRandom(seed);
  let best = Infinity;
  for (let i = 0; i < budget; i++) best = Math.min(best, objective(randomPoint(random)));
  return best;
}
