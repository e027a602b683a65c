import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TickBatch } from '../../src/queue/tick-batch.js';
import { until } from '../helpers/until.js';

/** A flush that records each batch and lands it only when told to. */
function recorder() {
  const batches: number[][] = [];
  const landings: (() => void)[] = [];
  const flush = (items: number[]): Promise<void> => {
    batches.push(items);
    return new Promise<void>((resolve) => landings.push(resolve));
  };
  return { batches, landings, flush };
}

describe('TickBatch', () => {
  it('gathers one turn of adds into one batch, and what comes while it is on its way into the next', async () => {
    const { batches, landings, flush } = recorder();
    const batch = new TickBatch(flush);
    const first = [1, 2, 3].map((n) => batch.add(n));
    await until(() => batches.length === 1, 'the first batch');
    assert.deepEqual(batches, [[1, 2, 3]]);
    const second = [4, 5].map((n) => batch.add(n));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(batches.length, 1, 'waits for the batch on its way');
    landings[0]!();
    await Promise.all(first);
    await until(() => batches.length === 2, 'the second batch');
    assert.deepEqual(batches[1], [4, 5]);
    landings[1]!();
    await Promise.all(second);
  });

  it('sends a full batch at once, within the loop that fills it, even with another on its way; in order', async () => {
    const { batches, landings, flush } = recorder();
    const batch = new TickBatch(flush, { maxItems: 3 });
    const sent: Promise<void>[] = [];
    for (let n = 1; n <= 7; n++) {
      sent.push(batch.add(n));
      if (n === 3) assert.deepEqual(batches, [[1, 2, 3]], 'the first full batch went before the loop ended');
    }
    assert.deepEqual(batches, [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    // The rest waits for the batches on their way (group commit), then goes as one.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(batches.length, 2);
    landings[0]!();
    landings[1]!();
    await until(() => batches.length === 3, 'the last batch');
    assert.deepEqual(batches[2], [7]);
    landings[2]!();
    await Promise.all(sent);
  });
});
