import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runTaskLimits } from '../../examples/task-limits/run.js';

it('task-limits: one tiny cell through Redis and the store (slots); every task succeeds and utilization is a fraction', async () => {
  const outcome = await runTaskLimits({ workers: 2, seconds: 0.05, mb: 0.1, tasks: 8 });
  assert.equal(outcome.tasks, 8);
  assert.equal(outcome.succeeded, 8, 'every task came back with an output of the right size');
  assert.ok(outcome.utilization > 0 && outcome.utilization <= 1, `utilization ${outcome.utilization}`);
  assert.ok(Object.keys(outcome.byWorker).length >= 1, 'utilization was measured on at least one worker');
  for (const value of Object.values(outcome.byWorker)) assert.ok(value > 0 && value <= 1, `worker utilization ${value}`);
});

it('task-limits: the same with worker threads as workers', async () => {
  const outcome = await runTaskLimits({ workers: 2, seconds: 0.05, mb: 0.1, tasks: 8, workerKind: 'threads' });
  assert.equal(outcome.workerKind, 'threads');
  assert.equal(outcome.succeeded, 8);
  assert.ok(outcome.utilization > 0 && outcome.utilization <= 1, `utilization ${outcome.utilization}`);
});
