/** Retry policy: bounded exponential backoff with jitter, a filter on what is retried, a cap on max_retries from the wire. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inlineMethod } from '../../src/methods/spec.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { isRetryable, resolveRetryPolicy, retryDelayMs } from '../../src/task-server/retry-policy.js';
import { InvalidArgumentError } from '../../src/common/errors.js';

describe('retry policy', () => {
  it('backs off exponentially, bounded, with jitter only shortening the wait', () => {
    const policy = resolveRetryPolicy({ initialDelayMs: 10, factor: 3, maxDelayMs: 200, jitter: 0.5 }, 100);
    assert.deepEqual([1, 2, 3, 4, 5].map((retry) => retryDelayMs(retry, policy, () => 0)), [10, 30, 90, 200, 200]);
    assert.deepEqual([1, 2, 3].map((retry) => retryDelayMs(retry, policy, () => 1)), [5, 15, 45]);
  });

  it('retries errors and crashed workers, not cancels, timeouts (unless asked) or deterministic TypeErrors', () => {
    const policy = resolveRetryPolicy({}, 100);
    const failure = (name: string, reason: 'error' | 'timeout' | 'cancelled' | 'worker-crashed') => ({ name, message: '', stack: '', reason });
    assert.equal(isRetryable(failure('Error', 'error'), policy), true);
    assert.equal(isRetryable(failure('Error', 'worker-crashed'), policy), true);
    assert.equal(isRetryable(failure('TypeError', 'error'), policy), false);
    assert.equal(isRetryable(failure('TaskTimeoutError', 'timeout'), policy), false);
    assert.equal(isRetryable(failure('TaskTimeoutError', 'timeout'), resolveRetryPolicy({ retryReasons: ['error', 'timeout'] }, 100)), true);
    assert.equal(isRetryable(failure('TaskCancelledError', 'cancelled'), resolveRetryPolicy({ retryReasons: ['cancelled'] }, 100)), false);
  });

  it('refuses bad settings, naming them', () => {
    assert.throws(() => resolveRetryPolicy({ jitter: 2 }, 100), (error: Error) => error instanceof InvalidArgumentError && /retry\.jitter/.test(error.message));
    assert.throws(() => resolveRetryPolicy({ factor: 0.5 }, 100), /retry\.factor/);
  });

  it('spaces tries by at least the backoff, skips a TypeError, and caps max_retries', async () => {
    const calls: Record<string, number[]> = { flaky: [], typeError: [], always: [] };
    const queues = new LocalQueues();
    const server = new LocalTaskServer(queues, {
      retry: { initialDelayMs: 20, factor: 2, jitter: 0, maxRetriesCap: 3 },
      methods: {
        flaky: inlineMethod(() => {
          calls.flaky!.push(performance.now());
          if (calls.flaky!.length < 3) throw new Error('not yet');
          return 'ok';
        }),
        typeError: inlineMethod(() => {
          calls.typeError!.push(performance.now());
          throw new TypeError('a bug');
        }),
        always: inlineMethod(() => {
          calls.always!.push(performance.now());
          throw new Error('always');
        }),
      },
    }).start();
    await queues.sendInputs('flaky', [], { maxRetries: 5 });
    await queues.sendInputs('typeError', [], { maxRetries: 5 });
    await queues.sendInputs('always', [], { maxRetries: 1_000_000 });
    const results = new Map<string, Awaited<ReturnType<typeof queues.getResult>>>();
    for (let i = 0; i < 3; i++) {
      const result = await queues.getResult();
      results.set(result.method, result);
    }
    assert.equal(results.get('flaky')!.value, 'ok');
    assert.equal(results.get('flaky')!.retries, 2);
    const [a, b, c] = calls.flaky as [number, number, number];
    // Lower bounds only: a slow machine makes gaps longer, never shorter.
    assert.ok(b - a >= 19, `first gap ${b - a} ms`);
    assert.ok(c - b >= 39, `second gap ${c - b} ms`);
    assert.equal(results.get('typeError')!.retries, 0, 'a TypeError is not retried');
    assert.equal(calls.typeError!.length, 1);
    assert.equal(results.get('always')!.retries, 3, 'max_retries capped');
    assert.equal(calls.always!.length, 4);
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
  });

  it('an unbounded retry budget on an inline method does not starve the event loop', async () => {
    const queues = new LocalQueues();
    const server = new LocalTaskServer(queues, {
      retry: { initialDelayMs: 0, jitter: 0 },
      methods: {
        always: inlineMethod(() => {
          throw new Error('always');
        }),
      },
    }).start();
    await queues.sendInputs('always', [], { maxRetries: Number.MAX_SAFE_INTEGER });
    // A timer still fires while the task retries (capped at 100 by default) on the same loop.
    await new Promise((resolve) => setTimeout(resolve, 1));
    const result = await queues.getResult();
    assert.equal(result.retries, 100);
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
  });
});
