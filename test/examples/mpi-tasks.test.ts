import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runMpiTasks } from '../../examples/mpi-tasks/run.js';

it('mpi-tasks: each task runs with the rank count it asked for and computes pi', async () => {
  const runs = await runMpiTasks({ tasks: 2, maxRanks: 2, intervals: 1_000_000 });
  assert.deepEqual(runs.map((r) => r.ranks).sort(), [1, 2]);
  for (const run of runs) assert.ok(Math.abs(run.pi - Math.PI) < 1e-9, `pi estimate ${run.pi}`);
});
