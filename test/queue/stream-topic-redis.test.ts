/**
 * A method streaming to another topic (streamTopic) over Redis: its intermediate results may be
 * read after its final one (another list, read later or in another order). They are still its
 * own, and none is dropped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inlineMethod } from '../../src/methods/spec.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { redisFixture } from '../helpers/redis.js';

const redis = redisFixture();

describe('streamTopic over Redis', () => {
  before(() => redis.start());
  after(() => redis.stop());

  it('intermediates read after the final result are delivered, none dropped', async () => {
    const prefix = redis.prefix();
    const methods = {
      count: inlineMethod(
        async function* (n: number) {
          for (let i = 0; i < n; i++) yield i;
          return 'done';
        },
        { generator: 'stream', streamTopic: 'partial' },
      ),
    };
    const client = new RedisQueues<{ count: (n: number) => AsyncGenerator<number, string> }>({ url: redis.url, prefix, role: 'client', topics: ['partial'] });
    const serverQueues = new RedisQueues({ url: redis.url, prefix, role: 'server', topics: ['partial'] });
    const server = new LocalTaskServer(serverQueues, { methods }).start();
    const dropped: string[] = [];
    client.events.on('dropped', ({ reason }) => dropped.push(reason));
    try {
      const taskId = await client.sendInputs('count', [20]);
      const final = await client.getResult('default');
      assert.equal(final.taskId, taskId);
      assert.equal(final.complete, true);
      assert.equal(final.value, 'done');
      const values: unknown[] = [];
      for (let i = 0; i < 20; i++) {
        const partial = await client.getResult('partial', { timeoutMs: 10_000 });
        assert.equal(partial.taskId, taskId);
        assert.equal(partial.complete, false);
        values.push(partial.value);
      }
      assert.deepEqual(values, Array.from({ length: 20 }, (_, i) => i));
      assert.deepEqual(dropped, []);
      assert.equal(client.activeCount(), 0, 'the final result retired the task');
    } finally {
      await client.sendKillSignal();
      await server.join();
      await Promise.all([client.close(), serverQueues.close()]);
    }
  });
});
