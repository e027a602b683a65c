import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ColmenaTimeoutError, InvalidArgumentError, InvalidStateError } from '../../src/common/errors.js';
import { type ResourceChange, ResourceCounter, UnknownPoolError } from '../../src/thinker/index.js';
import { settled, until } from './helpers.js';

function counter(total = 4, pools: string[] = ['sim', 'ml']): ResourceCounter {
  return new ResourceCounter(total, pools);
}

describe('ResourceCounter: construction and queries', () => {
  test('every slot starts unallocated and free', () => {
    const rec = counter(4);
    assert.equal(rec.totalSlots, 4);
    assert.deepEqual(rec.taskTypes, ['sim', 'ml']);
    assert.equal(rec.unallocatedSlots, 4);
    assert.equal(rec.availableSlots(null), 4);
    assert.equal(rec.allocatedSlots('sim'), 0);
    assert.equal(rec.availableSlots('ml'), 0);
    assert.deepEqual(rec.snapshot(), [
      { pool: null, allocated: 4, available: 4, waiting: 0 },
      { pool: 'sim', allocated: 0, available: 0, waiting: 0 },
      { pool: 'ml', allocated: 0, available: 0, waiting: 0 },
    ]);
  });

  test('bad construction arguments are rejected with what was wrong', () => {
    assert.throws(() => new ResourceCounter(-1), /totalSlots must be a non-negative integer, got -1/);
    assert.throws(() => new ResourceCounter(1.5), InvalidArgumentError);
    assert.throws(() => new ResourceCounter(2, ['a', 'a']), /listed twice/);
    assert.throws(() => new ResourceCounter(2, [null as unknown as string]), /null already names the unallocated pool/);
    assert.throws(() => new ResourceCounter(2, ['']), /non-empty strings/);
  });

  test('an unknown pool is an UnknownPoolError listing the pools that exist', async () => {
    const rec = counter();
    const unknown = (error: unknown): boolean =>
      error instanceof UnknownPoolError && /Unknown resource pool 'gpu'.*null \(unallocated\), sim, ml/.test(error.message);
    assert.throws(() => rec.allocatedSlots('gpu'), unknown);
    assert.throws(() => rec.availableSlots('gpu'), unknown);
    assert.throws(() => rec.release('gpu', 1), unknown);
    await assert.rejects(rec.acquire('gpu', 1), unknown);
    await assert.rejects(rec.reallocate(null, 'gpu', 1), unknown);
    await assert.rejects(rec.reallocate('gpu', null, 1), unknown);
  });

  test('negative or fractional counts are rejected', async () => {
    const rec = counter();
    await assert.rejects(rec.acquire(null, -1), /slots must be a non-negative integer, got -1/);
    await assert.rejects(rec.acquire(null, 0.5), InvalidArgumentError);
    await assert.rejects(rec.reallocate(null, 'sim', -2), /got -2/);
    assert.throws(() => rec.release(null, -1), InvalidArgumentError);
    assert.throws(() => rec.tryAcquire(null, Number.NaN), InvalidArgumentError);
  });
});

describe('ResourceCounter: acquire and release', () => {
  test('acquire takes free slots at once; release gives them back', async () => {
    const rec = counter();
    await rec.reallocate(null, 'sim', 3);
    await rec.acquire('sim', 2);
    assert.equal(rec.availableSlots('sim'), 1);
    assert.equal(rec.allocatedSlots('sim'), 3);
    rec.release('sim', 2);
    assert.equal(rec.availableSlots('sim'), 3);
  });

  test('acquire waits for a release', async () => {
    const rec = counter();
    await rec.reallocate(null, 'sim', 1);
    await rec.acquire('sim', 1);
    const waiting = rec.acquire('sim', 1);
    assert.equal(await settled(waiting), false);
    assert.equal(rec.waitingRequests('sim'), 1);
    rec.release('sim', 1);
    await waiting;
    assert.equal(rec.availableSlots('sim'), 0);
  });

  test('acquire waits for slots reallocated into the pool', async () => {
    const rec = counter();
    const waiting = rec.acquire('ml', 2);
    assert.equal(await settled(waiting), false);
    await rec.reallocate(null, 'ml', 1);
    assert.equal(await settled(waiting), false);
    await rec.reallocate(null, 'ml', 1);
    await waiting;
    assert.equal(rec.availableSlots('ml'), 0);
  });

  test('acquiring zero slots resolves at once', async () => {
    await counter().acquire('sim', 0);
  });

  test('acquire times out with a ColmenaTimeoutError and takes nothing', async () => {
    const rec = counter();
    await assert.rejects(rec.acquire('sim', 1, { timeoutMs: 1 }), (error) => error instanceof ColmenaTimeoutError && /pool 'sim'/.test(error.message));
    assert.equal(rec.waitingRequests('sim'), 0);
    await rec.reallocate(null, 'sim', 1);
    assert.equal(rec.availableSlots('sim'), 1);
  });

  test('acquire rejects with the signal reason when aborted, at once if already aborted', async () => {
    const rec = counter();
    const controller = new AbortController();
    const waiting = rec.acquire('sim', 1, { signal: controller.signal });
    const reason = new Error('campaign over');
    controller.abort(reason);
    await assert.rejects(waiting, (error) => error === reason);
    assert.equal(rec.waitingRequests('sim'), 0);
    await assert.rejects(rec.acquire(null, 1, { signal: AbortSignal.abort(reason) }), (error) => error === reason);
    assert.equal(rec.availableSlots(null), 4, 'an aborted acquire takes nothing');
  });

  test('waiters are served first come, first served, even when a later one could be met sooner', async () => {
    const rec = counter(4, ['sim']);
    await rec.reallocate(null, 'sim', 3);
    await rec.acquire('sim', 3);
    const order: string[] = [];
    const big = rec.acquire('sim', 2).then(() => order.push('big'));
    const small = rec.acquire('sim', 1).then(() => order.push('small'));
    const last = rec.acquire('sim', 1).then(() => order.push('last'));
    rec.release('sim', 1);
    assert.equal(await settled(small), false, 'the 1-slot request waits behind the 2-slot one');
    rec.release('sim', 1);
    await big;
    assert.equal(await settled(small), false);
    rec.release('sim', 1);
    await small;
    assert.equal(await settled(last), false);
    rec.release('sim', 1);
    await last;
    assert.deepEqual(order, ['big', 'small', 'last']);
  });

  test('a waiter leaving the head of the line lets the ones behind it through', async () => {
    const rec = counter(2, ['sim']);
    await rec.reallocate(null, 'sim', 1);
    const controller = new AbortController();
    const blocked = rec.acquire('sim', 2, { signal: controller.signal });
    const behind = rec.acquire('sim', 1);
    assert.equal(await settled(behind), false);
    controller.abort(new Error('gave up'));
    await assert.rejects(blocked, /gave up/);
    await behind;
  });

  test('tryAcquire takes free slots only if nobody is waiting', async () => {
    const rec = counter(2, ['sim']);
    await rec.reallocate(null, 'sim', 2);
    assert.equal(rec.tryAcquire('sim', 3), false);
    assert.equal(rec.tryAcquire('sim', 1), true);
    const waiting = rec.acquire('sim', 2);
    assert.equal(rec.tryAcquire('sim', 1), false, 'a waiter is ahead');
    rec.release('sim', 1);
    await waiting;
  });

  test('releasing more than is in use is an error naming the counts', async () => {
    const rec = counter();
    await rec.reallocate(null, 'sim', 2);
    assert.throws(() => rec.release('sim', 1), (error) => error instanceof InvalidStateError && /only 0 of its 2 slot\(s\) are in use/.test(error.message));
    await rec.acquire('sim', 1);
    assert.throws(() => rec.release('sim', 2), /Cannot release 2 slot\(s\) of pool 'sim'/);
    rec.release('sim', 1);
  });

  test('release with rerequest queues behind the waiters already in line', async () => {
    const rec = counter(2, ['sim']);
    await rec.reallocate(null, 'sim', 1);
    await rec.acquire('sim', 1);
    const order: string[] = [];
    const other = rec.acquire('sim', 1).then(() => order.push('other'));
    const again = rec.release('sim', 1, { rerequest: true }).then(() => order.push('again'));
    await other;
    assert.equal(await settled(again), false, 'the re-request waits for the other agent to release');
    rec.release('sim', 1);
    await again;
    assert.deepEqual(order, ['other', 'again']);
    assert.equal(rec.availableSlots('sim'), 0);
  });

  test('release with rerequest honours timeoutMs and signal', async () => {
    const rec = counter(1, ['sim']);
    await rec.reallocate(null, 'sim', 1);
    await rec.acquire('sim', 1);
    const other = rec.acquire('sim', 1);
    await assert.rejects(rec.release('sim', 1, { rerequest: true, timeoutMs: 1 }), ColmenaTimeoutError);
    await other;
    const reason = new Error('stop');
    const controller = new AbortController();
    const again = rec.release('sim', 1, { rerequest: true, signal: controller.signal });
    // Served at once: nobody else was waiting.
    await again;
    assert.equal(rec.availableSlots('sim'), 0);
    const blocked = rec.acquire('sim', 1, { signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(blocked, (error) => error === reason);
  });
});

describe('ResourceCounter: reallocate', () => {
  test('moves slots between pools and back to unallocated', async () => {
    const rec = counter(4);
    await rec.reallocate(null, 'sim', 3);
    await rec.reallocate('sim', 'ml', 1);
    assert.deepEqual([rec.unallocatedSlots, rec.allocatedSlots('sim'), rec.allocatedSlots('ml')], [1, 2, 1]);
    assert.deepEqual([rec.availableSlots('sim'), rec.availableSlots('ml')], [2, 1]);
    await rec.reallocate('ml', null, 1);
    assert.equal(rec.unallocatedSlots, 2);
  });

  test('waits until the slots to move are released', async () => {
    const rec = counter(2, ['sim', 'ml']);
    await rec.reallocate(null, 'sim', 2);
    await rec.acquire('sim', 2);
    const moving = rec.reallocate('sim', 'ml', 1);
    assert.equal(await settled(moving), false);
    rec.release('sim', 1);
    await moving;
    assert.deepEqual([rec.allocatedSlots('sim'), rec.allocatedSlots('ml')], [1, 1]);
  });

  test("'all' moves every allocated slot, waiting for those in use", async () => {
    const rec = counter(4);
    await rec.reallocate(null, 'ml', 3);
    await rec.acquire('ml', 2);
    const moving = rec.reallocate('ml', 'sim', 'all');
    const later = rec.acquire('ml', 1);
    rec.release('ml', 1);
    assert.equal(await settled(moving), false, 'one slot is still in use');
    rec.release('ml', 1);
    await moving;
    assert.deepEqual([rec.allocatedSlots('ml'), rec.allocatedSlots('sim'), rec.availableSlots('sim')], [0, 3, 3]);
    assert.equal(await settled(later), false, 'the pool is empty now');
    await rec.reallocate('sim', 'ml', 1);
    await later;
  });

  test('the same pool on both sides is an error', async () => {
    await assert.rejects(counter().reallocate('sim', 'sim', 1), /from pool 'sim' to itself/);
  });

  test('times out and aborts like acquire, moving nothing', async () => {
    const rec = counter();
    await assert.rejects(rec.reallocate('sim', 'ml', 1, { timeoutMs: 1 }), ColmenaTimeoutError);
    const reason = new Error('no');
    await assert.rejects(rec.reallocate('sim', 'ml', 1, { signal: AbortSignal.abort(reason) }), (error) => error === reason);
    assert.equal(rec.waitingRequests('sim'), 0);
    assert.equal(rec.allocatedSlots('ml'), 0);
  });

  test('block: false resolves at once and reports the outcome through onComplete', async () => {
    const rec = counter(2, ['sim', 'ml']);
    await rec.reallocate(null, 'sim', 2);
    await rec.acquire('sim', 2);
    const outcomes: unknown[] = [];
    await rec.reallocate('sim', 'ml', 2, { block: false, onComplete: (error) => outcomes.push(error ?? 'ok') });
    assert.equal(rec.allocatedSlots('ml'), 0);
    rec.release('sim', 2);
    await until(() => outcomes.length === 1, 'the background move');
    assert.deepEqual([...outcomes], ['ok']);
    assert.equal(rec.allocatedSlots('ml'), 2);
    await rec.reallocate('ml', 'sim', 1, { block: false, timeoutMs: 1, onComplete: (error) => outcomes.push(error) });
    assert.equal(outcomes.length, 2, 'free slots move before the call returns');
    await rec.acquire('ml', 1);
    await rec.reallocate('ml', 'sim', 1, { block: false, timeoutMs: 1, onComplete: (error) => outcomes.push(error) });
    await until(() => outcomes.length === 3, 'the background move to time out');
    assert.ok(outcomes[2] instanceof ColmenaTimeoutError);
  });

  test('moved slots go to the waiters of the target pool in order', async () => {
    const rec = counter(3, ['sim']);
    const order: number[] = [];
    const first = rec.acquire('sim', 2).then(() => order.push(1));
    const second = rec.acquire('sim', 1).then(() => order.push(2));
    await rec.reallocate(null, 'sim', 3);
    await Promise.all([first, second]);
    assert.deepEqual(order, [1, 2]);
  });
});

describe('ResourceCounter: change events', () => {
  test('every acquire, release and reallocation is emitted, in order, with the pool state reachable', async () => {
    const rec = counter(2, ['sim']);
    const changes: Omit<ResourceChange, 'timestamp'>[] = [];
    const allocations: number[] = [];
    rec.events.on('change', ({ timestamp, ...change }) => {
      assert.ok(timestamp > 1.6e9, 'timestamps are epoch seconds');
      changes.push(change);
      allocations.push(rec.allocatedSlots('sim'));
    });
    await rec.reallocate(null, 'sim', 2);
    await rec.acquire('sim', 1);
    rec.release('sim', 1);
    await rec.reallocate('sim', null, 'all');
    assert.deepEqual(changes, [
      { kind: 'reallocate', from: null, to: 'sim', slots: 2 },
      { kind: 'acquire', pool: 'sim', slots: 1 },
      { kind: 'release', pool: 'sim', slots: 1 },
      { kind: 'reallocate', from: 'sim', to: null, slots: 2 },
    ]);
    assert.deepEqual(allocations, [2, 2, 2, 0]);
  });

  test('a listener that throws is logged and cannot break the bookkeeping', async () => {
    const rec = counter(1, ['sim']);
    rec.events.on('change', () => {
      throw new Error('broken listener');
    });
    let heard = 0;
    const stop = rec.events.on('change', () => {
      heard++;
      stop();
    });
    await rec.reallocate(null, 'sim', 1);
    const waiting = rec.acquire('sim', 1);
    await waiting;
    rec.release('sim', 1);
    assert.equal(heard, 1, 'a listener that unsubscribes itself is called once');
    assert.equal(rec.availableSlots('sim'), 1);
  });
});

describe('ResourceCounter: Colmena defaults', () => {
  test('release() with no arguments gives back one slot of the unallocated pool, as Colmena does', async () => {
    const rec = new ResourceCounter(2, ['sim']);
    await rec.acquire(null, 2);
    assert.equal(rec.availableSlots(null), 0);
    rec.release();
    assert.equal(rec.availableSlots(null), 1);
    rec.release(null);
    assert.equal(rec.availableSlots(null), 2);
    assert.throws(() => rec.release(), /only 0 of its 2 slot\(s\) are in use/);
  });
});
