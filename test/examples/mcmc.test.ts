import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runMcmc } from '../../examples/mcmc/run.js';
import { TARGET_CORRELATION, TARGET_MEAN, TARGET_SD } from '../../examples/mcmc/methods.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

it('mcmc: chains whose steps are tasks recover the target mean, spread and correlation', async () => {
  const options = { chains: 4, steps: 400, burnIn: 100, workers: 2, workMs: 0, seed: 1 };
  const outcome = await runMcmc(options);
  assert.equal(outcome.tasks, options.chains * (options.steps + 1), 'one task per starting point and per step');
  assert.equal(outcome.samples, options.chains * (options.steps - options.burnIn));
  for (const j of [0, 1]) {
    assert.ok(Math.abs(outcome.mean[j]! - TARGET_MEAN[j]!) < 0.3 * TARGET_SD[j]!, `mean[${j}] = ${outcome.mean[j]} (target ${TARGET_MEAN[j]})`);
    assert.ok(Math.abs(outcome.sd[j]! / TARGET_SD[j]! - 1) < 0.25, `sd[${j}] = ${outcome.sd[j]} (target ${TARGET_SD[j]})`);
    assert.ok(outcome.rHat[j]! < 1.1, `R-hat[${j}] = ${outcome.rHat[j]}: the chains agree`);
  }
  assert.ok(Math.abs(outcome.correlation - TARGET_CORRELATION) < 0.1, `correlation ${outcome.correlation}`);
  assert.ok(outcome.acceptanceRate > 0.15 && outcome.acceptanceRate < 0.7, `acceptance rate ${outcome.acceptanceRate}`);
});
