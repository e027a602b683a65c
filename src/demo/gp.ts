/**
 * The demo's surrogate model: a Gaussian process with an RBF kernel and one length scale per input
 * dimension, written out in plain TypeScript (Cholesky factorization, triangular solves) so the
 * demo needs no numerical library. Small on purpose: a few hundred points, a handful of inputs.
 *
 * The targets are standardized, the signal variance is profiled out of the marginal likelihood
 * (it has a closed form given the other hyperparameters), and the length scales and the noise
 * ratio are chosen by coordinate search on the log marginal likelihood, in log space.
 */

export interface GpHyperparameters {
  /** Length scale of each input dimension (inputs live in the unit cube). */
  lengthscales: number[];
  /** Noise variance as a fraction of the signal variance. */
  noiseRatio: number;
}

export interface GpPrediction {
  mean: number;
  /** Standard deviation of the latent function (noise excluded). */
  sd: number;
}

const LOG_LENGTHSCALE = { min: Math.log(0.02), max: Math.log(5) };
const LOG_NOISE = { min: Math.log(1e-6), max: Math.log(0.5) };
/** Added to the kernel's diagonal on top of the noise, for numerical safety. */
const JITTER = 1e-8;

/** A fitted Gaussian process: predicts a mean and a standard deviation anywhere. */
export class GaussianProcess {
  readonly hyperparameters: GpHyperparameters;
  /** Log marginal likelihood of the standardized targets under the chosen hyperparameters. */
  readonly logLikelihood: number;
  /** Marginal-likelihood evaluations the fit took (each one Cholesky factorization). */
  readonly evaluations: number;
  readonly #n: number;
  readonly #d: number;
  /** Inputs divided by the length scales, row-major n × d. */
  readonly #scaled: Float64Array;
  readonly #inverseLengthscales: Float64Array;
  /** Lower Cholesky factor of R + noise·I, row-major n × n (upper part unused). */
  readonly #chol: Float64Array;
  /** (R + noise·I)⁻¹ y, on standardized targets. */
  readonly #alpha: Float64Array;
  readonly #signalVariance: number;
  readonly #yMean: number;
  readonly #yScale: number;

  private constructor(fit: FitState, hyperparameters: GpHyperparameters, evaluations: number, yMean: number, yScale: number) {
    this.hyperparameters = hyperparameters;
    this.logLikelihood = fit.logLikelihood;
    this.evaluations = evaluations;
    this.#n = fit.n;
    this.#d = fit.d;
    this.#scaled = fit.scaled;
    this.#inverseLengthscales = Float64Array.from(hyperparameters.lengthscales, (l) => 1 / l);
    this.#chol = fit.chol;
    this.#alpha = fit.alpha;
    this.#signalVariance = fit.signalVariance;
    this.#yMean = yMean;
    this.#yScale = yScale;
  }

  /**
   * Fit to `points` (each in the unit cube) and their `values`, starting the hyperparameter
   * search from `start` (e.g. the previous model's) or from a coarse scan when it is null.
   */
  static fit(points: readonly (readonly number[])[], values: readonly number[], start: GpHyperparameters | null = null): GaussianProcess {
    const n = points.length;
    if (n < 2 || values.length !== n) throw new RangeError(`A Gaussian process needs at least 2 points with one value each, got ${n} points and ${values.length} values`);
    const d = points[0]!.length;
    const x = new Float64Array(n * d);
    points.forEach((point, i) => x.set(point, i * d));
    const yMean = values.reduce((a, b) => a + b, 0) / n;
    const yScale = Math.sqrt(values.reduce((a, b) => a + (b - yMean) ** 2, 0) / n) || 1;
    const y = Float64Array.from(values, (v) => (v - yMean) / yScale);

    let evaluations = 0;
    const evaluate = (params: readonly number[]): FitState | null => {
      evaluations++;
      return fitWith(x, y, n, d, params);
    };
    const clampParam = (index: number, value: number): number => {
      const bounds = index < d ? LOG_LENGTHSCALE : LOG_NOISE;
      return Math.min(bounds.max, Math.max(bounds.min, value));
    };

    let params: number[];
    let best: FitState | null = null;
    if (start !== null && start.lengthscales.length === d) {
      params = [...start.lengthscales.map(Math.log), Math.log(start.noiseRatio)].map((v, i) => clampParam(i, v));
      best = evaluate(params);
    } else {
      params = [];
      for (const lengthscale of [0.1, 0.2, 0.4, 0.8, 1.6]) {
        const trial = [...Array<number>(d).fill(Math.log(lengthscale)), Math.log(1e-3)];
        const state = evaluate(trial);
        if (state !== null && (best === null || state.logLikelihood > best.logLikelihood)) {
          best = state;
          params = trial;
        }
      }
    }
    if (best === null) throw new RangeError('The kernel matrix is not positive definite for any length scale tried');

    // Coordinate search: try a step up and down on each parameter, keep what raises the likelihood.
    for (const step of start === null ? [1, 0.5, 0.25] : [0.5, 0.25]) {
      for (let sweep = 0; sweep < 2; sweep++) {
        let improved = false;
        for (let p = 0; p <= d; p++) {
          for (const direction of [1, -1]) {
            const trial = [...params];
            trial[p] = clampParam(p, trial[p]! + direction * step);
            if (trial[p] === params[p]) continue;
            const state = evaluate(trial);
            if (state !== null && state.logLikelihood > best.logLikelihood + 1e-9) {
              best = state;
              params = trial;
              improved = true;
              break;
            }
          }
        }
        if (!improved) break;
      }
    }
    const hyperparameters = { lengthscales: params.slice(0, d).map(Math.exp), noiseRatio: Math.exp(params[d]!) };
    return new GaussianProcess(best, hyperparameters, evaluations, yMean, yScale);
  }

  /** Predicted mean and standard deviation at `point`. */
  predict(point: readonly number[]): GpPrediction {
    const n = this.#n;
    const d = this.#d;
    const k = new Float64Array(n);
    let mean = 0;
    for (let i = 0; i < n; i++) {
      let distance = 0;
      for (let j = 0; j < d; j++) {
        const diff = point[j]! * this.#inverseLengthscales[j]! - this.#scaled[i * d + j]!;
        distance += diff * diff;
      }
      k[i] = Math.exp(-0.5 * distance);
      mean += k[i]! * this.#alpha[i]!;
    }
    forwardSolve(this.#chol, n, k);
    let explained = 0;
    for (let i = 0; i < n; i++) explained += k[i]! * k[i]!;
    const variance = this.#signalVariance * Math.max(1e-12, 1 - explained);
    return { mean: this.#yMean + this.#yScale * mean, sd: this.#yScale * Math.sqrt(variance) };
  }
}

interface FitState {
  n: number;
  d: number;
  scaled: Float64Array;
  chol: Float64Array;
  alpha: Float64Array;
  signalVariance: number;
  logLikelihood: number;
}

/** Factor the kernel matrix for log-space parameters [log ℓ₁..log ℓ_d, log noise]; null if not positive definite. */
function fitWith(x: Float64Array, y: Float64Array, n: number, d: number, params: readonly number[]): FitState | null {
  const scaled = new Float64Array(n * d);
  for (let j = 0; j < d; j++) {
    const inverse = Math.exp(-params[j]!);
    for (let i = 0; i < n; i++) scaled[i * d + j] = x[i * d + j]! * inverse;
  }
  const noise = Math.exp(params[d]!);
  const chol = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    chol[i * n + i] = 1 + noise + JITTER;
    for (let k = 0; k < i; k++) {
      let distance = 0;
      for (let j = 0; j < d; j++) {
        const diff = scaled[i * d + j]! - scaled[k * d + j]!;
        distance += diff * diff;
      }
      chol[i * n + k] = Math.exp(-0.5 * distance);
    }
  }
  if (!cholesky(chol, n)) return null;
  const alpha = Float64Array.from(y);
  forwardSolve(chol, n, alpha);
  backwardSolve(chol, n, alpha);
  let fit = 0;
  for (let i = 0; i < n; i++) fit += y[i]! * alpha[i]!;
  const signalVariance = Math.max(fit / n, 1e-12);
  let logDeterminant = 0;
  for (let i = 0; i < n; i++) logDeterminant += Math.log(chol[i * n + i]!);
  const logLikelihood = -0.5 * n * (Math.log(2 * Math.PI * signalVariance) + 1) - logDeterminant;
  return { n, d, scaled, chol, alpha, signalVariance, logLikelihood };
}

/**
 * In-place Cholesky factorization of the symmetric matrix whose lower triangle is in `a`
 * (row-major n × n): afterwards the lower triangle holds L with L·Lᵀ = A. False if A is not
 * positive definite.
 */
export function cholesky(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let diagonal = a[rowJ + j]!;
    for (let k = 0; k < j; k++) diagonal -= a[rowJ + k]! * a[rowJ + k]!;
    if (!(diagonal > 0)) return false;
    const pivot = Math.sqrt(diagonal);
    a[rowJ + j] = pivot;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let sum = a[rowI + j]!;
      for (let k = 0; k < j; k++) sum -= a[rowI + k]! * a[rowJ + k]!;
      a[rowI + j] = sum / pivot;
    }
  }
  return true;
}

/** Solve L·z = b in place (b becomes z), L the lower factor from {@link cholesky}. */
export function forwardSolve(chol: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= chol[row + k]! * b[k]!;
    b[i] = sum / chol[row + i]!;
  }
}

/** Solve Lᵀ·x = z in place (z becomes x). */
export function backwardSolve(chol: Float64Array, n: number, z: Float64Array): void {
  for (let i = n - 1; i >= 0; i--) {
    let sum = z[i]!;
    for (let k = i + 1; k < n; k++) sum -= chol[k * n + i]! * z[k]!;
    z[i] = sum / chol[i * n + i]!;
  }
}

/**
 * Expected improvement below `best` (for minimization) of a prediction: how much lower than the
 * best value so far the point is expected to land, counting only outcomes that are lower.
 */
export function expectedImprovement(prediction: GpPrediction, best: number): number {
  const { mean, sd } = prediction;
  const improvement = best - mean;
  if (sd < 1e-12) return Math.max(0, improvement);
  const z = improvement / sd;
  return Math.max(0, improvement * normalCdf(z) + sd * normalPdf(z));
}

export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Standard normal CDF (Abramowitz and Stegun 7.1.26 for erf; absolute error below 1e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  // The upper tail, computed directly so that far-off points keep their (small) relative order.
  const tail = 0.5 * poly * Math.exp(-x * x);
  return z >= 0 ? 1 - tail : tail;
}
