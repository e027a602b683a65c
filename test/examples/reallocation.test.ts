import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type Move, runReallocation } from '../../examples/reallocation/run.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

it('reallocation: the allocation history shows slots moving to training one at a time and all coming back', async () => {
  const options = { simulations: 40, slots: 4, trainingSlots: 2, retrainEvery: 8, workMs: 2, trainMs: 10 };
  const outcome = await runReallocation(options);
  assert.equal(outcome.simulations, options.simulations);
  assert.ok(outcome.trainingRounds >= 1, 'at least one training round ran');

  const [first, ...rest] = outcome.moves;
  assert.deepEqual(pick(first!), ['unallocated', 'simulation', 4, 4, 0], 'every slot starts in simulation');
  // The rest are rounds: one-slot moves into training, then one move of all of them back.
  let borrowed = 0;
  let fullRounds = 0;
  for (const move of rest) {
    if (move.from === 'simulation') {
      assert.deepEqual([move.to, move.slots], ['training', 1], 'slots are gathered one at a time');
      borrowed++;
      assert.ok(borrowed <= options.trainingSlots, 'never more than trainingSlots are borrowed');
      assert.deepEqual([move.simulation, move.training], [options.slots - borrowed, borrowed]);
    } else {
      assert.deepEqual([move.from, move.to, move.slots], ['training', 'simulation', borrowed], 'everything borrowed goes back at once');
      assert.deepEqual([move.simulation, move.training], [options.slots, 0]);
      if (borrowed === options.trainingSlots) fullRounds++;
      borrowed = 0;
    }
  }
  assert.equal(borrowed, 0, 'nothing is left in training at the end');
  assert.ok(fullRounds >= outcome.trainingRounds, `${fullRounds} full rounds of moves for ${outcome.trainingRounds} trainings`);
  assert.deepEqual(outcome.duringTraining, Array(outcome.trainingRounds).fill([2, 2]), 'each training ran on 2 slots while 2 kept simulating');
});

function pick(move: Move): [string, string, number, number, number] {
  return [move.from, move.to, move.slots, move.simulation, move.training];
}
