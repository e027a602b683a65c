/**
 * Redis restarted without persistence (SIGKILLed, then started again on its port) in the middle of
 * a campaign: every request it held, queued or leased, and every result not yet read is gone. The
 * thinker notices the loss when it reconnects and sends its unanswered requests again; each task
 * still ends with exactly one final result (a task that was running when Redis died may run twice,
 * its second result dropped by the thinker).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { inlineMethod } from '../../src/methods/spec.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';

type Methods = { nap: (i: number, ms: number) => Promise<number> };

describe('a Redis restart that loses every key', () => {
  let redis: RedisServerHandle | null = null;
  after(async () => {
    await redis?.stop();
  });

  it('loses no task: the thinker sends what Redis lost again, and each task ends with exactly one final result', async () => {
    redis = await startRedisServer();
    const { url, port } = redis;
    const prefix = `restart-${process.pid}`;
    const client = new RedisQueues<Methods>({ url, prefix, role: 'client' });
    const serverQueues = new RedisQueues<Methods>({ url, prefix, role: 'server', leaseMs: 1000 });
    const nap = inlineMethod(async (i: number, ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return i;
    });
    const server = new LocalTaskServer(serverQueues, { methods: { nap }, window: 8 }).start();
    const resent: number[] = [];
    client.events.on('requests-resent', ({ count }) => resent.push(count));
    const total = 300;
    await Promise.all(Array.from({ length: total }, (_, i) => client.sendInputs('nap', [i, 5])));
    const finals = new Map<number, number>();
    const take = async (count: number) => {
      for (let n = 0; n < count; n++) {
        const result = await client.getResult('default', { timeoutMs: 30_000 });
        assert.equal(result.success, true, JSON.stringify(result.failureInfo));
        const i = result.value as number;
        finals.set(i, (finals.get(i) ?? 0) + 1);
      }
    };
    await take(60);

    // A crash: no shutdown save (there is no persistence anyway), every key gone.
    const exited = new Promise((resolve) => redis!.process.once('exit', resolve));
    redis.process.kill('SIGKILL');
    await exited;
    // Sent while Redis is down: held by the connection until it is back (and by the thinker).
    const late = 20;
    const sentLate = Promise.all(Array.from({ length: late }, (_, i) => client.sendInputs('nap', [total + i, 5])));
    redis = await startRedisServer({ port });
    await sentLate;

    await take(total + late - 60);
    assert.equal(finals.size, total + late, 'every task has a final result');
    assert.deepEqual([...finals.values()].filter((count) => count !== 1), [], 'no task has two');
    assert.ok(resent.length >= 1 && resent.reduce((a, b) => a + b, 0) > 0, `the thinker said it sent requests again (${JSON.stringify(resent)})`);
    assert.equal(client.activeCount(), 0);

    await client.sendKillSignal();
    await server.join();
    await Promise.all([client.close(), serverQueues.close()]);
  });
});
