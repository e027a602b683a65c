/** The main job (`npm start` = `colmena demo`), small: the steering beats random search, and slots move for training. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runDemo } from '../../src/demo/campaign.js';
import { cholesky, expectedImprovement, GaussianProcess, normalCdf } from '../../src/demo/gp.js';
import { hartmann6, HARTMANN6_MINIMUM } from '../../src/demo/objective.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

it('main job: the surrogate-steered search beats random search at the same budget, retraining on borrowed slots', async () => {
  // With seed 1, random search's best of 30 is -0.65; steered runs land between -1.4 and -3.1.
  const summary = await runDemo({ budget: 30, workers: 2, workMs: 2, seed: 1, runLog: false });
  assert.equal(summary.simulations, 30);
  assert.equal(summary.failed, 0);
  assert.equal(summary.best, hartmann6(summary.bestPoint), 'the reported best is the objective at the reported point');
  assert.ok(summary.best < summary.randomBest, `best ${summary.best} vs random search ${summary.randomBest}`);
  assert.ok(summary.trainings.count >= 1, 'the model was retrained');
  assert.ok(summary.moves.toTraining >= summary.trainings.count, 'each retraining borrowed a slot from simulation');
  assert.equal(summary.moves.toSimulation, summary.moves.toTraining, 'every borrowed slot came back');
  assert.ok(summary.utilization.training > 0 && summary.utilization.simulation > 0);
});

it('main job: the command exits 0 and prints the comparison with random search', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--budget', '30', '--work-ms', '2', '--no-run-log', '--no-progress'],
    { cwd: ROOT, timeout: 60_000 },
  );
  const best = Number(/best found\s+(-?[\d.]+)/.exec(stdout)?.[1]);
  const random = Number(/random search\s+(-?[\d.]+)/.exec(stdout)?.[1]);
  assert.ok(Number.isFinite(best) && Number.isFinite(random), stdout);
  assert.ok(best < random, stdout);
  assert.doesNotMatch(stdout, /run log/, '--no-run-log writes none');
});

it('main job: the surrogate is a working Gaussian process', () => {
  // Cholesky: L·Lᵀ reproduces a known positive-definite matrix; a singular one is refused.
  const a = Float64Array.from([4, 0, 0, 2, 5, 0, 2, 1, 6]); // lower triangle of [[4,2,2],[2,5,1],[2,1,6]]
  const full = [
    [4, 2, 2],
    [2, 5, 1],
    [2, 1, 6],
  ];
  assert.ok(cholesky(a, 3));
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = 0;
      for (let k = 0; k <= j; k++) sum += a[i * 3 + k]! * a[j * 3 + k]!;
      assert.ok(Math.abs(sum - full[i]![j]!) < 1e-12, `(L·Lᵀ)[${i}][${j}] = ${sum}`);
    }
  }
  assert.equal(cholesky(Float64Array.from([1, 0, 1, 1]), 2), false);
  assert.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-6 && Math.abs(normalCdf(-1.959964) - 0.025) < 1e-6);

  // Fitted to a smooth 2-D function, it interpolates, is sure near data and unsure far from it.
  const f = (x: readonly number[]): number => Math.sin(3 * x[0]!) + x[1]! ** 2;
  const points: number[][] = [];
  for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) points.push([i / 5, j / 5]);
  const model = GaussianProcess.fit(points, points.map(f));
  for (const x of [[0.3, 0.5], [0.55, 0.15], [0.9, 0.9]]) {
    const { mean } = model.predict(x);
    assert.ok(Math.abs(mean - f(x)) < 0.02, `prediction at [${x}] is ${mean}, truth ${f(x)}`);
  }
  assert.ok(model.predict([0.4, 0.4]).sd < 0.05, 'sure at a training point');
  const far = GaussianProcess.fit([[0.1, 0.1], [0.2, 0.15], [0.15, 0.2]], [1, 2, 1.5]);
  assert.ok(far.predict([0.9, 0.9]).sd > 5 * far.predict([0.15, 0.15]).sd, 'less sure far from the data');

  // Expected improvement: none where the model is sure the value is worse, some where it is unsure.
  assert.equal(expectedImprovement({ mean: 1, sd: 1e-13 }, 0), 0);
  assert.ok(expectedImprovement({ mean: 1, sd: 1 }, 0) > 0);
  assert.ok(expectedImprovement({ mean: -1, sd: 0.1 }, 0) > 0.99);
  assert.ok(Math.abs(hartmann6([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]) - HARTMANN6_MINIMUM) < 1e-4);
});
