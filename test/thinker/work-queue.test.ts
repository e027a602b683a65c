import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ColmenaTimeoutError, InvalidStateError } from '../../src/common/errors.js';
import { WorkQueue } from '../../src/thinker/index.js';
import { settled } from './helpers.js';

describe('WorkQueue', () => {
  test('items leave in arrival order', async () => {
    const queue = new WorkQueue([1, 2]);
    queue.push(3);
    assert.equal(queue.size, 3);
    assert.equal(queue.peek(), 1);
    assert.deepEqual(await queue.take(), { done: false, value: 1 });
    assert.deepEqual(queue.tryTake(), { done: false, value: 2 });
    assert.deepEqual(queue.toArray(), [3]);
  });

  test('take waits for an item; a waiting taker gets the next push', async () => {
    const queue = new WorkQueue<string>();
    const taking = queue.take();
    assert.equal(await settled(taking), false);
    assert.equal(queue.waiting, 1);
    queue.push('a');
    assert.deepEqual(await taking, { done: false, value: 'a' });
    assert.equal(queue.size, 0);
  });

  test('close ends takers with done once the queue is empty', async () => {
    const queue = new WorkQueue<number>([7]);
    const waiting = [queue.take(), queue.take()];
    queue.close();
    assert.deepEqual(await Promise.all(waiting), [
      { done: false, value: 7 },
      { done: true, value: undefined },
    ]);
    assert.equal(queue.exhausted, true);
    assert.deepEqual(await queue.take(), { done: true, value: undefined });
    assert.throws(() => queue.push(1), InvalidStateError);
  });

  test('take honours timeoutMs and signal without taking anything', async () => {
    const queue = new WorkQueue<number>();
    await assert.rejects(queue.take({ timeoutMs: 1 }), ColmenaTimeoutError);
    const reason = new Error('stop');
    await assert.rejects(queue.take({ signal: AbortSignal.abort(reason) }), (error) => error === reason);
    const controller = new AbortController();
    const taking = queue.take({ signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(taking, (error) => error === reason);
    assert.equal(queue.waiting, 0);
    queue.push(1);
    assert.equal(queue.size, 1);
  });

  test('compare makes it a priority queue, stable for equal items', () => {
    const queue = new WorkQueue<{ p: number; id: string }>([], { compare: (a, b) => a.p - b.p });
    queue.push({ p: 2, id: 'a' }, { p: 1, id: 'b' }, { p: 2, id: 'c' }, { p: 0, id: 'd' });
    assert.deepEqual(
      queue.toArray().map((item) => item.id),
      ['d', 'b', 'a', 'c'],
    );
  });

  test('replace reorders the waiting work, even after close', () => {
    const queue = new WorkQueue([1, 2, 3]);
    queue.close();
    assert.deepEqual(queue.replace([3, 1]), [1, 2, 3]);
    assert.deepEqual(queue.toArray(), [3, 1]);
    assert.equal(queue.closed, true);
    assert.deepEqual(queue.clear(), [3, 1]);
    assert.equal(queue.exhausted, true);
  });

  test('async iteration yields until the queue is closed and empty', async () => {
    const queue = new WorkQueue([1, 2]);
    const seen: number[] = [];
    const reading = (async () => {
      for await (const item of queue) seen.push(item);
    })();
    queue.push(3);
    queue.close();
    await reading;
    assert.deepEqual(seen, [1, 2, 3]);
  });

  test('stays correct over many items', async () => {
    const queue = new WorkQueue<number>();
    for (let i = 0; i < 5000; i++) queue.push(i);
    for (let i = 0; i < 5000; i++) assert.equal((await queue.take()).value, i);
  });
});
