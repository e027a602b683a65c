import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runStreaming } from '../../examples/streaming/run.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

it('streaming: the first simulation starts before the generator task ends', async () => {
  // The generator runs ~1.5 s, so that even on a loaded machine the simulation thread has loaded
  // its module and started well before the generator ends.
  const designs = 10;
  const outcome = await runStreaming({ designs, generateMs: 150, simulateMs: 5, seed: 1 });
  assert.deepEqual(
    outcome.received.map((r) => r.complete),
    [...Array<boolean>(designs).fill(false), true],
    'each design came as an intermediate result, then the final one (the return value)',
  );
  assert.equal(outcome.simulationStarts.length, designs, 'one simulation per design');
  assert.ok(
    outcome.simulationStarts[0]! < outcome.generatorEnded,
    `first simulation started ${((outcome.generatorEnded - outcome.simulationStarts[0]!) * 1000).toFixed(0)} ms before the generator ended`,
  );
  assert.ok(outcome.startedBeforeGeneratorEnded >= 1);
});
