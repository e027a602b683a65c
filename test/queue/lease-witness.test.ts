/**
 * Leased delivery as Redis itself records it (MONITOR, HGETALL and LRANGE, not our API): a request
 * is moved under the server's lease when taken (into its lease hash by the take script, or onto its
 * processing list by a blocking move), stays there while it runs, and leaves it in the same script
 * that pushes its result. Python's keys are untouched: requests on
 * `<prefix>_requests`, results on `<prefix>_<topic>_result`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { inlineMethod } from '../../src/methods/spec.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { leasedRequests, redisFixture } from '../helpers/redis.js';
import { until, untilAsync } from '../helpers/until.js';

const redis = redisFixture();

interface Seen {
  source: string;
  args: string[];
}

describe('leased delivery, witnessed by Redis', () => {
  before(() => redis.start());
  after(() => redis.stop());

  for (const waiting of [true, false]) {
    it(`MONITOR shows a request ${waiting ? 'waiting when the server starts' : 'sent to a waiting server'} moved under its lease, and the lease ended by the script that pushes its result`, () => witness(waiting));
  }
});

async function witness(sentBeforeServer: boolean): Promise<void> {
  {
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
    const early = sentBeforeServer ? await client.sendInputs('hold', []) : null;
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
      if (!sentBeforeServer) await until(() => server.state === 'running', 'the server to run');
      const taskId = early ?? (await client.sendInputs('hold', []));
      // While it runs, the request sits under this server's lease and nowhere else.
      const held = () => leasedRequests(inspect, prefix, serverQueues.serverId);
      await untilAsync(async () => (await held()).length === 1, "the request under the server's lease");
      const [element] = await held();
      assert.ok(element!.startsWith('default{') && element!.includes(taskId), 'the lease holds the request element as pushed');
      assert.equal(await inspect.llen(`${prefix}_requests`), 0);
      assert.equal(await inspect.exists(serverQueues.heartbeatKey), 1, 'a heartbeat key is alive while the server serves');

      release();
      const result = await client.getResult();
      assert.equal(result.value, 'done');
      assert.deepEqual(await held(), [], "the request's lease ended");

      const ends = ({ source, args }: Seen): boolean =>
        source === 'lua' &&
        ((args[0]?.toUpperCase() === 'LREM' && args[1] === serverQueues.processingKey) || (args[0]?.toUpperCase() === 'HDEL' && args[1] === serverQueues.leasesKey));
      await until(() => seen.some(ends), 'MONITOR to show the lease ending');
      const commands = seen.map(({ source, args }) => ({ source, name: args[0]!.toUpperCase(), keys: args.slice(1, 3) }));
      // A move is a BLMOVE onto the processing list (the server was waiting on an empty request
      // list), or, in the take script (atomic as one step), LTRIM of the request list's head
      // followed at once by an HSET of it into the lease hash.
      const take = commands.findIndex(
        ({ name, keys, source }, i) =>
          (name === 'BLMOVE' && keys[0] === `${prefix}_requests` && keys[1] === serverQueues.processingKey) ||
          (name === 'LTRIM' && source === 'lua' && keys[0] === `${prefix}_requests` && commands[i + 1]?.name === 'HSET' && commands[i + 1]?.keys[0] === serverQueues.leasesKey),
      );
      assert.ok(take >= 0, `the request was moved, not popped: ${JSON.stringify(commands.map((c) => c.name))}`);
      if (sentBeforeServer) assert.equal(commands[take]!.name, 'LTRIM', 'a request waiting at start is taken by the take script, into the lease hash');
      const push = commands.findIndex(({ name, keys }) => name === 'RPUSH' && keys[0] === `${prefix}_default_result`);
      const remove = seen.findIndex(ends);
      assert.ok(push > take && remove === push + 1, 'the result is pushed, then its lease ended, one after the other');
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
  }
}
