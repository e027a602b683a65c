/**
 * The MCMC demo's task method (imported by worker threads): the log density of the target, a
 * stand-in for an expensive likelihood.
 *
 * The target is a correlated 2-D Gaussian with mean {@link TARGET_MEAN}, standard deviations
 * {@link TARGET_SD} and correlation {@link TARGET_CORRELATION}, so a sampler's output can be
 * checked against known answers.
 */
export const TARGET_MEAN = [1, -2];
export const TARGET_SD = [1, 0.5];
export const TARGET_CORRELATION = 0.8;

/** Log density of the target at `theta` (up to a constant), after `workMs` of busy computation. */
export function logDensity(theta: number[], workMs: number): number {
  const until = performance.now() + workMs;
  let sink = 0;
  while (performance.now() < until) for (let i = 0; i < 500; i++) sink += Math.sqrt(i + sink);
  const a = (theta[0]! - TARGET_MEAN[0]!) / TARGET_SD[0]!;
  const b = (theta[1]! - TARGET_MEAN[1]!) / TARGET_SD[1]!;
  const r = TARGET_CORRELATION;
  return (-0.5 * (a * a - 2 * r * a * b + b * b)) / (1 - r * r) + sink * 0;
}
