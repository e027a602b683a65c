import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ColmenaTimeoutError } from '../../src/common/errors.js';
import { AsyncEvent } from '../../src/thinker/index.js';
import { settled } from './helpers.js';

describe('AsyncEvent', () => {
  test('starts clear; set and clear flip isSet', () => {
    const event = new AsyncEvent();
    assert.equal(event.isSet(), false);
    event.set();
    event.set();
    assert.equal(event.isSet(), true);
    event.clear();
    assert.equal(event.isSet(), false);
  });

  test('wait resolves at once when set, and wakes every waiter when set later', async () => {
    const event = new AsyncEvent();
    const first = event.wait();
    const second = event.wait();
    assert.equal(event.waiting, 2);
    assert.equal(await settled(first), false);
    event.set();
    await Promise.all([first, second]);
    assert.equal(event.waiting, 0);
    await event.wait();
  });

  test('after clear, wait blocks again until the next set', async () => {
    const event = new AsyncEvent();
    event.set();
    event.clear();
    const waiting = event.wait();
    assert.equal(await settled(waiting), false);
    event.set();
    await waiting;
  });

  test('wait rejects with a ColmenaTimeoutError after timeoutMs and leaves no waiter behind', async () => {
    const event = new AsyncEvent();
    await assert.rejects(event.wait({ timeoutMs: 1 }), ColmenaTimeoutError);
    assert.equal(event.waiting, 0);
  });

  test('wait rejects with the signal reason on abort, at once if already aborted', async () => {
    const event = new AsyncEvent();
    const controller = new AbortController();
    const waiting = event.wait({ signal: controller.signal });
    const reason = new Error('stop waiting');
    controller.abort(reason);
    await assert.rejects(waiting, (error) => error === reason);
    assert.equal(event.waiting, 0);
    await assert.rejects(event.wait({ signal: AbortSignal.abort(reason) }), (error) => error === reason);
  });

  test('signal aborts when the event is set, and a fresh one is handed out after clear', async () => {
    const event = new AsyncEvent();
    const signal = event.signal;
    assert.equal(signal.aborted, false);
    assert.equal(event.signal, signal, 'the same signal until the event is set');
    event.set();
    assert.equal(signal.aborted, true);
    assert.equal((signal.reason as DOMException).name, 'AbortError');
    assert.equal(event.signal.aborted, true);
    event.clear();
    assert.equal(event.signal.aborted, false);
  });

  test('a signal taken while the event is set is already aborted', () => {
    const event = new AsyncEvent();
    event.set();
    assert.equal(event.signal.aborted, true);
  });

  test('onSet observers hear each clear-to-set transition until they unsubscribe', () => {
    const event = new AsyncEvent();
    let calls = 0;
    const stop = event.onSet(() => calls++);
    event.onSet(() => {
      throw new Error('a broken observer is logged, not thrown');
    });
    event.set();
    event.set();
    event.clear();
    event.set();
    assert.equal(calls, 2);
    stop();
    event.clear();
    event.set();
    assert.equal(calls, 2);
  });
});
