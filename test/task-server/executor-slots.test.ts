import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskStop } from '../../src/common/stop-signal.js';
import { ExecutorSlots } from '../../src/task-server/executor-slots.js';

describe('ExecutorSlots', () => {
  it('hands out free slots at once, then serves waiters first come first served', async () => {
    const slots = new ExecutorSlots(2, 'threads');
    assert.equal(slots.tryTake(), true);
    assert.equal(slots.tryTake(), true);
    assert.equal(slots.tryTake(), false);
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) => slots.runWhenFree(new TaskStop(), async () => order.push(n)));
    assert.equal(slots.waiting, 3);
    // Nobody jumps the line while others wait, even with a slot just given back.
    slots.release();
    assert.equal(slots.tryTake(), false);
    // Started inside release(), not on a later tick.
    assert.deepEqual(order, [1]);
    slots.release();
    slots.release();
    await Promise.all(waits);
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(slots.busy, 2);
    assert.equal(slots.waiting, 0);
  });

  it('a start that throws at once rejects its wait, as its reply would', async () => {
    const slots = new ExecutorSlots(1, 'threads');
    assert.equal(slots.tryTake(), true);
    const failing = slots.runWhenFree(new TaskStop(), () => {
      throw new Error('executor threw');
    });
    slots.release();
    await assert.rejects(failing, /executor threw/);
  });

  it('a waiter whose stop aborts leaves the line without a slot, and the next one is served', async () => {
    const slots = new ExecutorSlots(1, 'processes');
    assert.equal(slots.tryTake(), true);
    const cancelled = new TaskStop();
    let firstStarted = false;
    const first = slots.runWhenFree(cancelled, async () => (firstStarted = true));
    const second = slots.runWhenFree(new TaskStop(), async () => 'second');
    cancelled.abort(new Error('cancelled'));
    assert.equal(await first, null);
    assert.equal(slots.waiting, 1);
    slots.release();
    assert.equal(await second, 'second');
    assert.equal(firstStarted, false);
    assert.equal(slots.busy, 1);
    slots.release();
    assert.equal(slots.busy, 0);
    // Already aborted: no wait, no slot.
    const stopped = new TaskStop();
    stopped.abort(new Error('stopped'));
    assert.equal(await slots.runWhenFree(stopped, async () => 'never'), null);
    assert.equal(slots.busy, 0);
  });

  it('starts fewer tasks while workers are out of service, and the waiters once they are back', async () => {
    const slots = new ExecutorSlots(2, 'threads');
    assert.equal(slots.tryTake(), true);
    assert.equal(slots.tryTake(), true);
    const started: string[] = [];
    const waits = ['a', 'b'].map((name) => slots.runWhenFree(new TaskStop(), async () => started.push(name)));
    // One thread is killed and being replaced: its slot comes back, but nothing starts on it yet.
    slots.setUnavailable(1);
    slots.release();
    assert.deepEqual(started, []);
    slots.release();
    assert.deepEqual(started, ['a']);
    slots.setUnavailable(0);
    assert.deepEqual(started, ['a', 'b']);
    await Promise.all(waits);
    assert.equal(slots.busy, 2);
  });

  it('refuses a capacity that is not a whole number of at least 1, naming the executor', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new ExecutorSlots(bad, 'gpu'), /executor 'gpu': capacity must be a whole number of tasks, at least 1/);
    }
  });
});
