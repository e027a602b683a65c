import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runEnsemble } from '../../examples/hpc-ensemble/run.js';

describe('examples/hpc-ensemble', () => {
  it('steers simulations of 1-3 nodes on the test cluster and trains on the GPU pool', async () => {
    const thinker = await runEnsemble(4);
    const simulations = thinker.log.filter((line) => line.startsWith('x='));
    assert.equal(simulations.length, 4);
    for (const line of simulations) {
      const [, nodes, count] = /on (\S+) \((\d) node/.exec(line)!;
      assert.equal(nodes!.split(',').length, Number(count), line);
    }
    assert.match(thinker.log.find((line) => line.startsWith('trained'))!, /with GPU [01]$/);
  });
});
