/**
 * The reallocation demo's task methods (imported by worker threads): a simulation of a 1-D
 * response, and the training of one member of a small model ensemble.
 */

/** The response being mapped: a bowl with a ripple, lowest near x = 0.745. */
export function response(x: number): number {
  return (x - 0.6) ** 2 + 0.05 * Math.sin(14 * x);
}

function busyFor(ms: number): number {
  const until = performance.now() + ms;
  let sink = 0;
  while (performance.now() < until) for (let i = 0; i < 500; i++) sink += Math.sqrt(i + sink);
  return sink * 0;
}

/** The simulation: the response at `x`, after `workMs` of busy computation. */
export function simulate(x: number, workMs: number): number {
  return response(x) + busyFor(workMs);
}

/**
 * Train one ensemble member: a degree-4 polynomial fitted by least squares to a bootstrap
 * resample of the data (the member number seeds the resample), after `workMs` of busy computation
 * standing in for a larger model. Returns the coefficients, lowest degree first.
 */
export function train(xs: number[], ys: number[], member: number, workMs: number): number[] {
  let state = (member * 2654435761) >>> 0;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const degree = 4;
  const p = degree + 1;
  const m = Array.from({ length: p }, (_, i) => Array.from({ length: p + 1 }, (_, j) => (i === j ? 1e-8 : 0)));
  for (let k = 0; k < xs.length; k++) {
    const pick = Math.floor(random() * xs.length);
    const powers = Array.from({ length: p }, (_, i) => xs[pick]! ** i);
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) m[i]![j]! += powers[i]! * powers[j]!;
      m[i]![p]! += powers[i]! * ys[pick]!;
    }
  }
  for (let c = 0; c < p; c++) {
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
  return w.map((v) => v + busyFor(workMs));
}
