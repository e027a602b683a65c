/**
 * The demo's training task (runs on a worker thread): fit the Gaussian process to every result so
 * far, then rank fresh candidate designs by expected improvement and return the best few, spread
 * apart, as the next simulations to run.
 */
import { expectedImprovement, GaussianProcess, type GpHyperparameters } from './gp.js';
import { normal, seededRandom, uniformPoint } from '../common/random.js';

export interface RetrainOptions {
  /** Candidates to return. */
  count: number;
  /** Seed of the candidate draws. */
  seed: number;
  /** Where the hyperparameter search starts (the previous model's), or null for a coarse scan. */
  start: GpHyperparameters | null;
}

export interface RetrainOutcome {
  /** The next designs to simulate, most promising first. */
  proposals: number[][];
  hyperparameters: GpHyperparameters;
  logLikelihood: number;
  /** Points the model was trained on. */
  points: number;
  /** The model's predicted value at the first proposal. */
  predictedMean: number;
  fitSeconds: number;
  proposeSeconds: number;
}

/** Random candidates scored per call. */
const UNIFORM_CANDIDATES = 1000;
/** Best observed points to search around, and candidates drawn around each. */
const LOCAL_CENTERS = 5;
const LOCAL_CANDIDATES = 120;
/** Top candidates improved by a short hill climb on the expected improvement. */
const REFINED = 12;
const REFINE_STEPS = 20;
/** Proposals closer than this (in length scales) to one already chosen are skipped. */
const MIN_SEPARATION = 0.25;

/** Train the surrogate on `points` and `values` and propose the next designs. */
export function retrain(points: number[][], values: number[], options: RetrainOptions): RetrainOutcome {
  const fitStarted = performance.now();
  const model = GaussianProcess.fit(points, values, options.start);
  const fitSeconds = (performance.now() - fitStarted) / 1000;

  const proposeStarted = performance.now();
  const random = seededRandom(options.seed);
  const dimensions = points[0]!.length;
  const { lengthscales } = model.hyperparameters;
  const best = Math.min(...values);
  const score = (x: number[]): number => expectedImprovement(model.predict(x), best);
  const clamp = (v: number): number => Math.min(1, Math.max(0, v));

  const candidates: { x: number[]; ei: number }[] = [];
  const add = (x: number[]): void => void candidates.push({ x, ei: score(x) });
  for (let i = 0; i < UNIFORM_CANDIDATES; i++) add(uniformPoint(random, dimensions));
  const centers = values
    .map((value, index) => ({ value, index }))
    .sort((a, b) => a.value - b.value)
    .slice(0, LOCAL_CENTERS)
    .map(({ index }) => points[index]!);
  for (const center of centers) {
    for (let i = 0; i < LOCAL_CANDIDATES; i++) {
      const width = [0.05, 0.15, 0.4][i % 3]!;
      add(center.map((v, j) => clamp(v + width * lengthscales[j]! * normal(random))));
    }
  }
  candidates.sort((a, b) => b.ei - a.ei);

  // Polish the leaders: small random steps, kept when they raise the expected improvement.
  for (const candidate of candidates.slice(0, REFINED)) {
    for (let step = 0; step < REFINE_STEPS; step++) {
      const width = 0.2 * (1 - step / REFINE_STEPS) + 0.01;
      const trial = candidate.x.map((v, j) => clamp(v + width * lengthscales[j]! * normal(random)));
      const ei = score(trial);
      if (ei > candidate.ei) {
        candidate.x = trial;
        candidate.ei = ei;
      }
    }
  }
  candidates.sort((a, b) => b.ei - a.ei);

  // A batch of the same point would waste workers: keep proposals apart.
  const proposals: number[][] = [];
  const separation = (a: number[], b: number[]): number => Math.sqrt(a.reduce((sum, v, j) => sum + ((v - b[j]!) / lengthscales[j]!) ** 2, 0));
  for (const { x } of candidates) {
    if (proposals.length >= options.count) break;
    if (proposals.every((chosen) => separation(chosen, x) >= MIN_SEPARATION)) proposals.push(x);
  }
  while (proposals.length < options.count) proposals.push(uniformPoint(random, dimensions));

  return {
    proposals,
    hyperparameters: model.hyperparameters,
    logLikelihood: model.logLikelihood,
    points: points.length,
    predictedMean: model.predict(proposals[0]!).mean,
    fitSeconds,
    proposeSeconds: (performance.now() - proposeStarted) / 1000,
  };
}
