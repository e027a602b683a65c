/**
 * Leased delivery with real processes: a task server SIGKILLed mid-run loses nothing (a new one
 * runs what it had taken, each task ends with exactly one result), and with no server left the
 * thinker says so and can fail its tasks instead of hanging. Redis' own LRANGE is the witness.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { LocalQueues } from '../../src/queue/local.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { inlineMethod } from '../../src/methods/spec.js';
import { encodeWireMessage } from '../../src/models/wire.js';
import { decodeWireMessage } from '../../src/models/wire.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { leasedRequests, redisFixture } from '../helpers/redis.js';
import { until } from '../helpers/until.js';
import { startRecoveryServer } from '../fixtures/recovery/start-server.js';

const redis = redisFixture();
type Methods = { nap: (i: number, ms: number) => Promise<number>; add: (a: number, b: number) => number };

function startServer(prefix: string, leaseMs: number, window: number): ReturnType<typeof startRecoveryServer> {
  return startRecoveryServer(redis.url, prefix, leaseMs, window);
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

describe('crash recovery through Redis', () => {
  let raw: Redis;
  const children: ChildProcess[] = [];
  before(async () => {
    await redis.start();
    raw = new Redis(redis.url);
  });
  after(async () => {
    await Promise.all(children.map(kill));
    raw.disconnect();
    await redis.stop();
  });

  it('SIGKILL at ~40 % of 1,000 tasks, then a new server: 1,000 of 1,000 end with exactly one final result', async () => {
    const prefix = redis.prefix();
    const leaseMs = 600;
    const window = 8;
    const queues = new RedisQueues<Methods>({ url: redis.url, prefix, role: 'client' });
    const dropped: string[] = [];
    queues.events.on('dropped', ({ reason }) => dropped.push(reason));
    const first = await startServer(prefix, leaseMs, window);
    children.push(first.child);
    const total = 1000;
    await Promise.all(Array.from({ length: total }, (_, i) => queues.sendInputs('nap', [i, 2])));
    const finals = new Map<string, number>();
    const redelivered = new Set<string>();
    let received = 0;
    const collecting = (async () => {
      while (received < total) {
        const result = await queues.getResult();
        assert.equal(result.success, true, result.failureInfo?.message);
        finals.set(result.taskId, (finals.get(result.taskId) ?? 0) + 1);
        if (result.failedAttempts.some((attempt) => attempt.failure.name === 'TaskServerLost')) redelivered.add(result.taskId);
        received++;
      }
    })();
    await until(() => received >= total * 0.4, '40 % of the results', 60_000);
    // Kill it while it holds leases: freeze it, and let it run on a moment if it is between takes.
    for (;;) {
      first.child.kill('SIGSTOP');
      if ((await leasedRequests(raw, prefix, first.serverId)).length > 0) break;
      first.child.kill('SIGCONT');
      await new Promise((resolve) => setImmediate(resolve));
    }
    await kill(first.child);
    // What the dead server held, as Redis sees it: its leases, no more than its window.
    const held = await leasedRequests(raw, prefix, first.serverId);
    assert.ok(held.length > 0 && held.length <= window, `1 to the window (${window}) taken, found ${held.length}`);
    assert.ok(received < total, 'the kill came before the end');

    const second = await startServer(prefix, leaseMs, window);
    children.push(second.child);
    await collecting;
    assert.equal(finals.size, total, 'every task has a final result');
    assert.ok([...finals.values()].every((count) => count === 1), 'exactly one each');
    assert.equal(queues.activeCount(), 0);
    assert.deepEqual(dropped, [], 'no duplicate reached the thinker');
    // Each request the dead server held was run again, and its record says so.
    const heldIds = held.map((element) => /"task_id": "([^"]+)"/.exec(element)![1]!);
    assert.deepEqual([...redelivered].sort(), heldIds.sort());
    // Redis agrees: nothing left on the request list or under any server's lease.
    assert.equal(await raw.llen(`${prefix}_requests`), 0);
    assert.deepEqual(await leasedRequests(raw, prefix, first.serverId), []);
    assert.deepEqual(await leasedRequests(raw, prefix, second.serverId), []);
    assert.equal(await raw.sismember(`${prefix}_servers`, first.serverId), 0, 'the dead server is forgotten');
    await queues.sendKillSignal();
    await once(second.child, 'exit');
    await queues.close();
  });

  it('with no server left: one no-server event and warning, and the deadline fails the remaining tasks', async () => {
    const prefix = redis.prefix();
    const queues = new RedisQueues<Methods>({
      url: redis.url,
      prefix,
      role: 'client',
      noServerWarningMs: 300,
      noServerFailAfterMs: 900,
    });
    const events: number[] = [];
    queues.events.on('no-server', ({ activeTasks }) => events.push(activeTasks));
    const server = await startServer(prefix, 400, 4);
    children.push(server.child);
    await Promise.all(Array.from({ length: 40 }, (_, i) => queues.sendInputs('nap', [i, 20])));
    const first = await queues.getResult();
    assert.equal(first.success, true);
    await kill(server.child);
    const outcomes = { ok: 1, noServer: 0 };
    while (queues.activeCount() > 0) {
      const result = await queues.getResult();
      if (result.success) outcomes.ok++;
      else {
        assert.equal(result.failureInfo?.name, 'NoTaskServerError');
        assert.equal(result.failureInfo?.reason, 'worker-crashed');
        outcomes.noServer++;
      }
    }
    await queues.waitUntilDone();
    assert.equal(outcomes.ok + outcomes.noServer, 40);
    assert.ok(outcomes.noServer > 0, 'some tasks were failed by the deadline');
    assert.equal(events.length, 1, 'one event, not one per task');
    await queues.close();
  });

  it('two thinkers on one prefix with topics default and b each get all their own results and none of the other', async () => {
    const prefix = redis.prefix();
    const a = new RedisQueues<Methods>({ url: redis.url, prefix, role: 'client' });
    const b = new RedisQueues<Methods>({ url: redis.url, prefix, role: 'client', topics: ['b'] });
    const serverQueues = new RedisQueues({ url: redis.url, prefix, role: 'server', topics: ['b'] });
    const server = new LocalTaskServer(serverQueues, { methods: { add: inlineMethod((x: number, y: number) => x + y) } }).start();
    const dropped = { a: 0, b: 0 };
    a.events.on('dropped', () => dropped.a++);
    b.events.on('dropped', () => dropped.b++);
    const n = 50;
    // b also waits on 'default' results through no agent: it must not take a's.
    await Promise.all([
      ...Array.from({ length: n }, (_, i) => a.sendInputs('add', [i, 0])),
      ...Array.from({ length: n }, (_, i) => b.sendInputs('add', [i, 1000], { topic: 'b' })),
    ]);
    const fromA = await Promise.all(Array.from({ length: n }, () => a.getResult()));
    const fromB = await Promise.all(Array.from({ length: n }, () => b.getResult('b')));
    assert.deepEqual(fromA.map((r) => r.value as number).sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
    assert.deepEqual(fromB.map((r) => r.value as number).sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i + 1000));
    assert.deepEqual(dropped, { a: 0, b: 0 });
    await a.sendKillSignal();
    await server.join();
    await Promise.all([a.close(), b.close(), serverQueues.close()]);
  });

  it('drops a forged result for an unknown task id and a duplicate final result', async () => {
    const prefix = redis.prefix();
    const queues = new RedisQueues<Methods>({ url: redis.url, prefix, role: 'client', noServerWarningMs: null });
    const dropped: string[] = [];
    queues.events.on('dropped', ({ reason }) => dropped.push(reason));
    const taskId = await queues.sendInputs('add', [1, 2]);
    // Act as a plain BLPOP task server (as Python Colmena's is) with Redis commands only.
    const popped = await raw.blpop(`${prefix}_requests`, 5);
    assert.ok(popped);
    const request = decodeWireMessage(popped[1].slice(popped[1].indexOf('{')));
    assert.equal(request.taskId, taskId);
    request.success = true;
    request.complete = true;
    request.encodedValue = '3';
    const answer = encodeWireMessage(request);
    const forged = answer.replaceAll(taskId, 'forged-task-id');
    await raw.rpush(`${prefix}_default_result`, forged, answer, answer);
    const result = await queues.getResult();
    assert.equal(result.taskId, taskId);
    assert.equal(result.value, 3);
    await until(() => dropped.length === 2, 'both drops');
    assert.deepEqual(dropped.sort(), ['duplicate-final', 'unknown-task']);
    assert.equal(queues.activeCount(), 0);
    await queues.close();
  });

  it('stop() while blocked on an empty request list returns promptly, leaving nothing leased, and a closed server gives back what it held', async () => {
    const prefix = redis.prefix();
    const serverQueues = new RedisQueues({ url: redis.url, prefix, role: 'server' });
    const napping = new LocalTaskServer(serverQueues, {
      methods: { nap: inlineMethod(async (i: number, ms: number) => new Promise((resolve) => setTimeout(() => resolve(i), ms))) },
    }).start();
    await until(() => napping.state === 'running', 'the server to run');
    await until(() => true, 'a tick');
    await napping.stop();
    assert.deepEqual(await leasedRequests(raw, prefix, serverQueues.serverId), []);
    await serverQueues.close();
    assert.equal(await raw.exists(serverQueues.heartbeatKey), 0, 'heartbeat gone on close');

    // A server closed with a task in hand (not stopped first): the request goes back at once.
    const client = new RedisQueues<Methods>({ url: redis.url, prefix, role: 'client' });
    const second = new RedisQueues({ url: redis.url, prefix, role: 'server' });
    const holder = new LocalTaskServer(second, {
      methods: { nap: inlineMethod(async (i: number, ms: number) => new Promise((resolve) => setTimeout(() => resolve(i), ms))) },
    }).start();
    await client.sendInputs('nap', [1, 1000]);
    let held = 0;
    while (held === 0) {
      held = (await leasedRequests(raw, prefix, second.serverId)).length;
      // A timer between polls, so the server's own timers in this process get their turn.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await second.close();
    assert.deepEqual(await leasedRequests(raw, prefix, second.serverId), []);
    assert.equal(await raw.llen(`${prefix}_requests`), 1, 'back on the request list');
    // Its task ends on its own; the result has nowhere to go (the queues are closed) and is logged.
    await holder.stop().catch(() => {});
    await client.close();
  });

  it("timeoutMs counts running time: a task waiting behind a window of 1 does not time out, and 3e9 ms behaves", async () => {
    const queues = new LocalQueues<Methods>();
    const server = new LocalTaskServer(queues, {
      window: 1,
      methods: {
        nap: inlineMethod(async (i: number, ms: number) => {
          await new Promise((resolve) => setTimeout(resolve, ms));
          return i;
        }),
      },
    }).start();
    await queues.sendInputs('nap', [1, 300]);
    await queues.sendInputs('nap', [2, 5], { timeoutMs: 100 });
    await queues.sendInputs('nap', [3, 20], { timeoutMs: 3e9 });
    const results = [await queues.getResult(), await queues.getResult(), await queues.getResult()];
    for (const result of results) assert.equal(result.success, true, result.failureInfo?.message);
    assert.deepEqual(
      results.map((r) => r.value),
      [1, 2, 3],
    );
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
  });
});
