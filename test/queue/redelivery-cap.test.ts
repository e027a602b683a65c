/**
 * A task that kills every task server that takes it (real processes, SIGKILL): it is redelivered
 * at most `maxRedeliveries` times, then answered as failed instead of killing servers forever, and
 * the tasks taken with it the first time still succeed (a request redelivered twice runs alone).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { RedisQueues } from '../../src/queue/redis.js';
import { startRecoveryServer } from '../fixtures/recovery/start-server.js';
import { redisFixture } from '../helpers/redis.js';

const redis = redisFixture();
type Methods = { nap: (i: number, ms: number) => Promise<number>; crash: () => void };

describe('redelivery cap', () => {
  const children: ChildProcess[] = [];
  before(() => redis.start());
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await redis.stop();
  });

  it('a task that SIGKILLs each server is answered as failed after maxRedeliveries, and its bystanders succeed', async () => {
    const prefix = redis.prefix();
    const maxRedeliveries = 2;
    const queues = new RedisQueues<Methods>({ url: redis.url, prefix, role: 'client', noServerWarningMs: null });
    const bystanders = await Promise.all(Array.from({ length: 6 }, (_, i) => queues.sendInputs('nap', [i, 300])));
    const poison = await queues.sendInputs('crash', []);
    const results = new Map<string, Awaited<ReturnType<typeof queues.getResult>>>();
    const collecting = (async () => {
      while (results.size < 7) {
        const result = await queues.getResult();
        assert.ok(!results.has(result.taskId), `one final result per task (${result.taskId} twice)`);
        results.set(result.taskId, result);
      }
    })();
    // Servers one after another, each started once the one before it has died: the poison kills
    // the first (with the naps in hand), the second, the third; the fourth answers it.
    let deaths = 0;
    while (results.size < 7) {
      const { child } = await startRecoveryServer(redis.url, prefix, 300, 8, 'error', maxRedeliveries);
      children.push(child);
      const exited = once(child, 'exit');
      const outcome = await Promise.race([exited.then(() => 'died' as const), collecting.then(() => 'done' as const)]);
      if (outcome === 'died') deaths++;
      assert.ok(deaths <= maxRedeliveries + 2, `the poison task killed ${deaths} servers`);
    }
    await collecting;
    const answered = results.get(poison)!;
    assert.equal(answered.success, false);
    assert.equal(answered.failureInfo?.reason, 'worker-crashed');
    assert.equal(answered.failureInfo?.name, 'TaskServerLost');
    assert.match(answered.failureInfo!.message, /more than maxRedeliveries \(2\)/);
    assert.equal(deaths, maxRedeliveries + 1, 'the poison ran on maxRedeliveries + 1 servers, then was answered');
    for (const [i, id] of bystanders.entries()) {
      const result = results.get(id)!;
      assert.equal(result.success, true, `bystander ${i}: ${result.failureInfo?.message}`);
      assert.equal(result.value, i);
    }
    await queues.sendKillSignal();
    for (const child of children) if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    await queues.close();
  });
});
