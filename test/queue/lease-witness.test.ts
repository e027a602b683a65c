/**
 * Leased delivery as Redis itself records it (MONITOR and LRANGE, not our API): a request is
 * moved onto the server's processing list when taken, stays there while it runs, and leaves it in
 * the same script that pushes its result. Python's keys are untouched: requests on
 * `<prefix>_requests`, results on `<prefix>_<topic>_result`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { inlineMethod } from '../../src/methods/spec.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { redisFixture } from '../helpers/redis.js';
import { until, untilAsync } from '../helpers/until.js';

const redis = redisFixture();

interface Seen {
  source: string;
  args: string[];
}

describe('leased delivery, witnessed by Redis', () => {
  before(() => redis.start());
  after(() => redis.stop());

  it('MONITOR shows each request moved onto the processing list, and removed from it by the script that pushes its result', async () => {
    const prefix = redis.prefix();
    const raw = new Redis(redis.url);
    const monitor = await raw.monitor();
    const seen: Seen[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (args.some((arg) => arg.startsWith(prefix))) seen.push({ source, args });
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const client = new RedisQueues<{ hold: () => Promise<string> }>({ url: redis.url, prefix, role: 'client' });
    const serverQueues = new RedisQueues({ url: redis.url, prefix, role: 'server' });
    const server = new LocalTaskServer(serverQueues, {
      methods: {
        hold: inlineMethod(async () => {
          await gate;
          return 'done';
        }),
      },
    }).start();
    const inspect = new Redis(redis.url);
    try {
      const taskId = await client.sendInputs('hold', []);
      // While it runs, the request sits on this server's processing list and nowhere else.
      await untilAsync(async () => (await inspect.llen(serverQueues.processingKey)) === 1, 'the request on the processing list');
      const [held] = await inspect.lrange(serverQueues.processingKey, 0, -1);
      assert.ok(held!.startsWith('default{') && held!.includes(taskId), 'the processing list holds the request element as pushed');
      assert.equal(await inspect.llen(`${prefix}_requests`), 0);
      assert.equal(await inspect.exists(serverQueues.heartbeatKey), 1, 'a heartbeat key is alive while the server serves');

      release();
      const result = await client.getResult();
      assert.equal(result.value, 'done');
      assert.equal(await inspect.llen(serverQueues.processingKey), 0, 'the request left the processing list');

      await until(() => seen.some(({ args }) => args[0]?.toUpperCase() === 'LREM'), 'MONITOR to show the LREM');
      const commands = seen.map(({ source, args }) => ({ source, name: args[0]!.toUpperCase(), keys: args.slice(1, 3) }));
      // A move is one LMOVE/BLMOVE, or (a take of several in the take script, atomic as one step)
      // LTRIM of the request list's head followed at once by an LPUSH of it onto the processing list.
      const take = commands.findIndex(
        ({ name, keys, source }, i) =>
          ((name === 'LMOVE' || name === 'BLMOVE') && keys[0] === `${prefix}_requests` && keys[1] === serverQueues.processingKey) ||
          (name === 'LTRIM' && source === 'lua' && keys[0] === `${prefix}_requests` && commands[i + 1]?.name === 'LPUSH' && commands[i + 1]?.keys[0] === serverQueues.processingKey),
      );
      assert.ok(take >= 0, `the request was moved, not popped: ${JSON.stringify(commands.map((c) => c.name))}`);
      const push = commands.findIndex(({ name, keys }) => name === 'RPUSH' && keys[0] === `${prefix}_default_result`);
      const remove = commands.findIndex(({ name, keys }) => name === 'LREM' && keys[0] === serverQueues.processingKey);
      assert.ok(push > take && remove === push + 1, 'the result is pushed, then its request removed, one after the other');
      assert.equal(commands[push]!.source, 'lua', 'the push runs inside a script');
      assert.equal(commands[remove]!.source, 'lua', 'and so does the removal: one atomic step');
      assert.ok(!commands.some(({ name, keys }) => (name === 'LPOP' || name === 'BLPOP') && keys[0] === `${prefix}_requests`), 'nothing pops the request list');
    } finally {
      release();
      await client.sendKillSignal();
      await server.join();
      await Promise.all([client.close(), serverQueues.close()]);
      monitor.disconnect();
      raw.disconnect();
      inspect.disconnect();
    }
  });
});
