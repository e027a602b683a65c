/**
 * The streaming demo's task methods (imported by worker threads): a generator that proposes
 * designs one at a time, and the simulation that scores each.
 */

function busyFor(ms: number): void {
  const until = performance.now() + ms;
  let sink = 0;
  while (performance.now() < until) for (let i = 0; i < 500; i++) sink += Math.sqrt(i + sink);
}

/** A cheap screen the generator applies before proposing a design: lower is more promising. */
function screen(design: readonly number[]): number {
  return design.reduce((sum, v, i) => sum + (v - 0.2 * (i + 1)) ** 2, 0);
}

/**
 * Propose `count` designs (points in the unit cube), each the best of a batch of random draws by
 * a cheap screen, after `workMs` of search per design. A generator: with
 * `moduleMethod(..., { generator: 'stream' })` each design reaches the thinker as soon as it is
 * yielded, while the generator keeps working.
 */
export function* generateDesigns(count: number, seed: number, workMs: number): Generator<number[], void, undefined> {
  let state = seed >>> 0;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  for (let i = 0; i < count; i++) {
    busyFor(workMs);
    let best: number[] = [];
    let bestScore = Infinity;
    for (let draw = 0; draw < 64; draw++) {
      const design = [random(), random(), random()];
      const score = screen(design);
      if (score < bestScore) {
        best = design;
        bestScore = score;
      }
    }
    yield best;
  }
}

/** The simulation: an (invented) property of a design, after `workMs` of busy computation. */
export function simulate(design: number[], workMs: number): number {
  busyFor(workMs);
  return Math.sin(3 * design[0]!) * Math.cos(2 * design[1]!) + design[2]!;
}
