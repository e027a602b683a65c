import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from '../../src/common/errors.js';
import { Reallocator, ResourceCounter, UnknownPoolError } from '../../src/thinker/index.js';
import { settled, until } from './helpers.js';

async function simPool(total: number): Promise<ResourceCounter> {
  const rec = new ResourceCounter(total, ['sim', 'ml']);
  await rec.reallocate(null, 'sim', total);
  return rec;
}

describe('Reallocator', () => {
  test('gathers up to maxSlots in steps, then disperses everything on stop', async () => {
    const rec = await simPool(6);
    const moves: string[] = [];
    rec.events.on('change', (change) => {
      if (change.kind === 'reallocate') moves.push(`${change.from}->${change.to}:${change.slots}`);
    });
    const borrow = new Reallocator(rec, { gatherFrom: 'sim', gatherTo: 'ml', disperseTo: 'sim', maxSlots: 5, slotStep: 2 }).start();
    await until(() => rec.allocatedSlots('ml') === 5, 'five slots in ml');
    assert.equal(borrow.gathered, 5);
    assert.equal(borrow.state, 'gathering');
    await borrow.stop();
    assert.equal(borrow.state, 'stopped');
    assert.deepEqual(moves, ['sim->ml:2', 'sim->ml:2', 'sim->ml:1', 'ml->sim:5']);
    assert.equal(rec.allocatedSlots('sim'), 6);
  });

  test('without a cap, gathers every slot it can until stopped; stop cancels the step waiting for slots', async () => {
    const rec = await simPool(3);
    await rec.acquire('sim', 1);
    const borrow = new Reallocator(rec, { gatherFrom: 'sim', gatherTo: 'ml', disperseTo: 'sim' }).start();
    await until(() => rec.allocatedSlots('ml') === 2 && rec.waitingRequests('sim') === 1, 'two slots gathered and a third step waiting');
    await borrow.stop();
    assert.equal(rec.waitingRequests('sim'), 0, 'the pending step left the line');
    assert.deepEqual([rec.allocatedSlots('sim'), rec.allocatedSlots('ml')], [3, 0]);
  });

  test('stop waits for the gathered slots still in use to be released', async () => {
    const rec = await simPool(2);
    const borrow = new Reallocator(rec, { gatherFrom: 'sim', gatherTo: 'ml', disperseTo: null, maxSlots: 2 }).start();
    await rec.acquire('ml', 2);
    const stopping = borrow.stop();
    assert.equal(borrow.stop(), stopping, 'stop() twice returns the same promise');
    assert.equal(await settled(stopping), false);
    rec.release('ml', 2);
    await stopping;
    assert.deepEqual([rec.unallocatedSlots, rec.allocatedSlots('ml'), rec.allocatedSlots('sim')], [2, 0, 0]);
  });

  test('disperseTo equal to gatherTo keeps the slots', async () => {
    const rec = await simPool(2);
    const borrow = new Reallocator(rec, { gatherFrom: 'sim', gatherTo: 'ml', disperseTo: 'ml', maxSlots: 1 }).start();
    await until(() => borrow.gathered === 1, 'one slot gathered');
    await borrow.stop();
    assert.equal(rec.allocatedSlots('ml'), 1);
  });

  test('stop before start does nothing', async () => {
    const rec = await simPool(1);
    await new Reallocator(rec, { gatherFrom: 'sim', gatherTo: 'ml', disperseTo: 'sim' }).stop();
    assert.equal(rec.allocatedSlots('sim'), 1);
  });

  test('bad options are rejected with what to fix', async () => {
    const rec = await simPool(1);
    assert.throws(() => new Reallocator(rec, { gatherFrom: 'sim', gatherTo: 'gpu', disperseTo: 'sim' }), UnknownPoolError);
    assert.throws(() => new Reallocator(rec, { gatherFrom: 'sim', gatherTo: 'sim', disperseTo: 'ml' }), /must differ/);
    assert.throws(() => new Reallocator(rec, { gatherFrom: 'sim', gatherTo: 'ml', disperseTo: 'sim', slotStep: 0 }), /slotStep must be a positive integer/);
    assert.throws(() => new Reallocator(rec, { gatherFrom: 'sim', gatherTo: 'ml', disperseTo: 'sim', maxSlots: -1 }), InvalidArgumentError);
    const started = new Reallocator(rec, { gatherFrom: 'sim', gatherTo: 'ml', disperseTo: 'sim', maxSlots: 0 }).start();
    assert.throws(() => started.start(), /needs a new Reallocator/);
    await started.stop();
  });
});
