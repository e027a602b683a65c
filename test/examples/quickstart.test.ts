import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runQuickstart } from '../../examples/quickstart/run.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

it('quickstart: the producer and consumer agents walk the best guess down to the minimum of x²', async () => {
  const outcome = await runQuickstart({ guesses: 40, start: 3, seed: 1 });
  assert.equal(outcome.history.length, 40, 'the consumer read exactly its share of evaluations');
  for (let i = 1; i < outcome.history.length; i++) assert.ok(outcome.history[i]! <= outcome.history[i - 1]!, 'the best never gets worse');
  assert.ok(outcome.history[0]! > outcome.bestResult, 'it improved on its first evaluation');
  assert.equal(outcome.bestResult, outcome.bestGuess ** 2);
  assert.ok(outcome.bestResult < 1, `best f = ${outcome.bestResult} (started at 9): within 1 of the minimum`);
  assert.ok(outcome.produced >= 40, 'the producer kept guessing until the consumer was done');
});
