/**
 * The BullMQ executor against real BullMQ workers (in this process, through a real redis-server):
 * what each task carries there and back, failures, retries, streaming, timeouts and cancellation,
 * jobs removed or lost in Redis, campaign isolation by prefix, and a task server restart.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { ColmenaTimeoutError } from '../../src/common/errors.js';
import { inlineMethod, type MethodSpec, remoteMethod } from '../../src/methods/spec.js';
import type { MethodMap } from '../../src/models/method-types.js';
import type { Result } from '../../src/models/result.js';
import type { ColmenaQueues } from '../../src/queue/base.js';
import { LocalQueues } from '../../src/queue/local.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { BullmqExecutor, type BullmqExecutorOptions } from '../../src/task-server/bullmq/executor.js';
import { BullmqWorker } from '../../src/task-server/bullmq/worker.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { freePort } from '../helpers/redis-server.js';
import type * as fixtures from '../fixtures/bullmq-methods.js';
import { BULLMQ_METHODS } from '../fixtures/bullmq-workers.js';
import { redisFixture } from '../helpers/redis.js';
import { closerOf } from '../helpers/task-server.js';
import { activeResources, until } from '../helpers/until.js';

process.env.COLMENA_LOG_LEVEL ??= 'error';

const redis = redisFixture();
const resourcesBefore = activeResources();

const remote = {
  add: remoteMethod<typeof fixtures.add>({ executor: 'cpu' }),
  echo: remoteMethod<typeof fixtures.echo>({ executor: 'cpu' }),
  fail: remoteMethod<typeof fixtures.fail>({ executor: 'cpu' }),
  sleep: remoteMethod<typeof fixtures.sleep>({ executor: 'cpu' }),
  byteLength: remoteMethod<typeof fixtures.byteLength>({ executor: 'cpu' }),
  countTo: remoteMethod<typeof fixtures.countTo>({ executor: 'cpu', generator: 'stream' }),
};

/** A thinker's queues and a task server whose methods run through one BullMQ executor. */
interface Rig<M extends MethodMap> {
  queues: ColmenaQueues<M>;
  server: LocalTaskServer;
  executor: BullmqExecutor;
  close(): Promise<void>;
}

function rig<S extends Record<string, MethodSpec>>(
  methods: S,
  options: BullmqExecutorOptions & { queue?: string; serializationMethod?: 'json' | 'msgpack' } = {},
): Rig<MethodMap> {
  const { queue = 'cpu', serializationMethod, ...executorOptions } = options;
  const queues = new LocalQueues<MethodMap>({ serializationMethod });
  const executor = new BullmqExecutor(queue, { url: redis.url, ...executorOptions });
  const server = new LocalTaskServer(queues, { methods, executors: { [queue]: executor } }).start();
  return { queues, server, executor, close: closerOf(queues, server) };
}

/** Resolves with the first job of a queue that a worker answers with a failure of this reason. */
function nextFailureOnWorker(events: QueueEvents, reason: string): Promise<void> {
  return new Promise((resolve) => {
    // The return value is the worker's reply in the job format (codec.ts).
    const listener = ({ returnvalue }: { returnvalue: { reply?: { failure?: { reason?: string } | null } } }): void => {
      if (returnvalue?.reply?.failure?.reason !== reason) return;
      events.off('completed', listener);
      resolve();
    };
    events.on('completed', listener);
  });
}

describe('BullMQ executor', () => {
  const prefix = `test-${randomUUID()}`;
  let worker: BullmqWorker;
  let main: Rig<MethodMap>;
  let events: QueueEvents;

  before(async () => {
    await redis.start();
    worker = await new BullmqWorker({ url: redis.url, prefix, executor: 'cpu', methods: BULLMQ_METHODS, concurrency: 2 }).start();
    main = rig(remote, { prefix });
    events = new QueueEvents('cpu', { connection: { url: redis.url }, prefix });
    await events.waitUntilReady();
  });

  after(async () => {
    await main?.close();
    await events?.close();
    await worker?.close();
    await redis.stop();
  });

  it('round-trips a task with its keyword arguments, timings and the worker that ran it', async () => {
    const id = await main.queues.sendInputs('add', [1, 2], { kwargs: { c: 10 } });
    const result = await main.queues.getResult('default', { timeoutMs: 20_000 });
    assert.equal(result.taskId, id);
    assert.equal(result.success, true, result.failureInfo?.message);
    assert.equal(result.value, 13);
    assert.equal(result.workerInfo?.pid, process.pid);
    assert.match(String(result.workerInfo?.workerId), /^thread-\d+$/);
    const t = result.timestamp;
    assert.ok(t.created <= t.inputReceived && t.inputReceived <= t.computeStarted && t.computeStarted <= t.computeEnded);
    assert.ok(t.computeEnded <= t.resultReceived);
    for (const field of ['running', 'deserializeInputs', 'serializeResults'] as const) assert.ok(result.time[field] >= 0, field);
  });

  it('carries msgpack bytes, typed arrays included, both ways', async () => {
    const binary = rig(remote, { prefix, serializationMethod: 'msgpack' });
    try {
      await binary.queues.sendInputs('byteLength', [new Float64Array(4)]);
      await binary.queues.sendInputs('echo', [new Uint8Array([1, 2, 250])]);
      const [length, echoed] = [await binary.queues.getResult(), await binary.queues.getResult()];
      assert.equal(length.value, 32);
      assert.deepEqual(echoed.value, new Uint8Array([1, 2, 250]));
    } finally {
      await binary.close();
    }
  });

  it("reports a method's error and retries it within the task's maxRetries", async () => {
    await main.queues.sendInputs('fail', ['on purpose'], { maxRetries: 2 });
    const result = await main.queues.getResult('default', { timeoutMs: 20_000 });
    assert.equal(result.success, false);
    assert.equal(result.failureInfo?.name, 'RangeError');
    assert.equal(result.failureInfo?.message, 'asked to fail: on purpose');
    assert.match(result.failureInfo?.stack ?? '', /bullmq-methods/);
    assert.equal(result.retries, 2);
    assert.equal(result.failedAttempts.length, 2);
  });

  it('answers a method the workers do not serve with the list of those they do', async () => {
    const missing = rig({ simulate: remoteMethod({ executor: 'cpu' }) }, { prefix });
    try {
      await missing.queues.sendInputs('simulate', []);
      const result = await missing.queues.getResult('default', { timeoutMs: 20_000 });
      assert.equal(result.failureInfo?.reason, 'unknown-method');
      assert.match(result.failureInfo?.message ?? '', /Method 'simulate' is not served by the colmena worker on .* It serves: add, byteLength, countTo, echo, fail/);
    } finally {
      await missing.close();
    }
  });

  it('refuses an inline function, which cannot travel to a worker, when the server is built, saying how to declare it', async () => {
    const executor = new BullmqExecutor('cpu', { url: redis.url, prefix });
    assert.throws(
      () => new LocalTaskServer(new LocalQueues(), { methods: { local: inlineMethod(() => 1, { executor: 'cpu' }) }, executors: { cpu: executor } }),
      /Method 'local' is an inline function.*executor 'cpu'.*remoteMethod\(\{ executor: 'cpu' \}\)/,
    );
    await executor.close();
  });

  it("streams a generator's yields as intermediate results, or collects them", async () => {
    const id = await main.queues.sendInputs('countTo', [3]);
    const streamed: [boolean | null, unknown][] = [];
    for (let i = 0; i < 4; i++) {
      const result = await main.queues.getResult('default', { timeoutMs: 20_000 });
      assert.equal(result.taskId, id);
      streamed.push([result.complete, result.value]);
    }
    assert.deepEqual(streamed, [
      [false, 1],
      [false, 2],
      [false, 3],
      [true, 'done'],
    ]);
    const collecting = rig({ countTo: remoteMethod<typeof fixtures.countTo>({ executor: 'cpu', generator: 'collect' }) }, { prefix });
    try {
      await collecting.queues.sendInputs('countTo', [3]);
      assert.deepEqual((await collecting.queues.getResult('default', { timeoutMs: 20_000 })).value, [1, 2, 3]);
    } finally {
      await collecting.close();
    }
  });

  it('times a task out on its worker, which stops it and answers', async () => {
    const stopped = nextFailureOnWorker(events, 'timeout');
    const id = await main.queues.sendInputs('sleep', [60_000], { timeoutMs: 300 });
    const result = await main.queues.getResult('default', { timeoutMs: 20_000 });
    assert.equal(result.success, false);
    assert.equal(result.failureInfo?.reason, 'timeout');
    assert.match(result.failureInfo?.message ?? '', new RegExp(`Task ${id} ran past its timeout of 300 ms`));
    await stopped;
  });

  it('cancels a running task on its worker', async () => {
    const stopped = nextFailureOnWorker(events, 'cancelled');
    const id = await main.queues.sendInputs('sleep', [60_000]);
    const active = new Queue('cpu', { connection: { url: redis.url }, prefix });
    try {
      while ((await active.getActiveCount()) === 0) await new Promise((resolve) => setImmediate(resolve));
    } finally {
      await active.close();
    }
    assert.equal(await main.queues.cancel(id), true);
    const result = await main.queues.getResult('default', { timeoutMs: 20_000 });
    assert.equal(result.failureInfo?.reason, 'cancelled');
    await stopped;
  });

  describe('on a queue no worker serves', () => {
    let idle: Queue;
    before(async () => {
      idle = new Queue('idle', { connection: { url: redis.url }, prefix });
      await idle.waitUntilReady();
    });
    after(async () => {
      await idle.close();
    });
    const methods = { sleep: remoteMethod<typeof fixtures.sleep>({ executor: 'idle' }) };

    async function waitingJobs(count: number): Promise<string[]> {
      for (;;) {
        const jobs = await idle.getWaiting();
        if (jobs.length >= count) return jobs.map((job) => job.id!);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }

    it('removes the job of a task cancelled while it waits', async () => {
      const waiting = rig(methods, { prefix, queue: 'idle' });
      try {
        const id = await waiting.queues.sendInputs('sleep', [1]);
        await waitingJobs(1);
        await waiting.queues.cancel(id);
        assert.equal((await waiting.queues.getResult('default', { timeoutMs: 20_000 })).failureInfo?.reason, 'cancelled');
        while ((await idle.getWaitingCount()) > 0) await new Promise((resolve) => setImmediate(resolve));
      } finally {
        await waiting.close();
      }
    });

    it('ends a task whose job someone removed from the queue', async () => {
      const waiting = rig(methods, { prefix, queue: 'idle' });
      try {
        await waiting.queues.sendInputs('sleep', [1]);
        const [jobId] = await waitingJobs(1);
        await idle.remove(jobId!);
        const result = await waiting.queues.getResult('default', { timeoutMs: 20_000 });
        assert.equal(result.failureInfo?.reason, 'cancelled');
        assert.match(result.failureInfo?.message ?? '', /was removed from queue 'idle' before it ended/);
      } finally {
        await waiting.close();
      }
    });

    it('ends a task whose job vanished from Redis instead of waiting forever', async () => {
      const lostPrefix = `lost-${randomUUID()}`;
      const lost = rig(methods, { prefix: lostPrefix, queue: 'idle', sweepIntervalMs: 50 });
      const raw = new Redis(redis.url);
      try {
        await lost.queues.sendInputs('sleep', [1]);
        while ((await raw.llen(`${lostPrefix}:idle:wait`)) === 0) await new Promise((resolve) => setImmediate(resolve));
        // What a Redis restart without persistence does to the campaign's keys.
        const keys = await raw.keys(`${lostPrefix}:*`);
        await raw.del(...keys);
        const result = await lost.queues.getResult('default', { timeoutMs: 20_000 });
        assert.equal(result.failureInfo?.reason, 'worker-crashed');
        assert.equal(result.failureInfo?.name, 'LostJobError');
      } finally {
        raw.disconnect();
        await lost.close();
      }
    });
  });

  it('keeps campaigns with different prefixes apart on one Redis', async () => {
    const otherPrefix = `other-${randomUUID()}`;
    const otherWorker = await new BullmqWorker({ url: redis.url, prefix: otherPrefix, executor: 'cpu', methods: BULLMQ_METHODS, concurrency: 2, inline: true }).start();
    const other = rig(remote, { prefix: otherPrefix });
    const [mainBefore, otherBefore] = [worker.tasksDone, otherWorker.tasksDone];
    try {
      for (let i = 0; i < 20; i++) {
        await main.queues.sendInputs('add', [i, 0]);
        await other.queues.sendInputs('add', [i, 1000]);
      }
      const values = async (queues: ColmenaQueues<MethodMap>) => {
        const got: unknown[] = [];
        for (let i = 0; i < 20; i++) got.push((await queues.getResult('default', { timeoutMs: 20_000 })).value);
        return got.sort((a, b) => Number(a) - Number(b));
      };
      assert.deepEqual(await values(main.queues), [...Array(20).keys()]);
      assert.deepEqual(await values(other.queues), [...Array(20).keys()].map((i) => i + 1000));
      assert.equal(worker.tasksDone - mainBefore, 20);
      assert.equal(otherWorker.tasksDone - otherBefore, 20);
    } finally {
      await other.close();
      await otherWorker.close();
    }
  });

  it('loses nothing queued when the task server restarts', async () => {
    const channel = `restart-${randomUUID()}`;
    const client = new RedisQueues<MethodMap>({ url: redis.url, prefix: channel, role: 'client' });
    const serve = () => {
      const queues = new RedisQueues({ url: redis.url, prefix: channel, role: 'server' });
      const server = new LocalTaskServer(queues, { methods: remote, executors: { cpu: new BullmqExecutor('cpu', { url: redis.url, prefix }) } });
      let answered = 0;
      server.events.on('result', () => answered++);
      return { queues, server: server.start(), answered: () => answered };
    };
    const sent = new Set<string>();
    const results: Result[] = [];
    try {
      const first = serve();
      for (let i = 0; i < 30; i++) sent.add(await client.sendInputs('sleep', [20]));
      for (let i = 0; i < 5; i++) results.push(await client.getResult('default', { timeoutMs: 20_000 }));
      // The first server stops while its tasks are still queued in BullMQ; more arrive meanwhile.
      await client.sendKillSignal();
      for (let i = 0; i < 10; i++) sent.add(await client.sendInputs('sleep', [1]));
      await first.server.join();
      await first.queues.close();
      const second = serve();
      while (results.length < sent.size) results.push(await client.getResult('default', { timeoutMs: 20_000 }));
      await client.sendKillSignal();
      await second.server.join();
      await second.queues.close();
      assert.deepEqual(new Set(results.map((r) => r.taskId)), sent);
      assert.equal(results.length, 40);
      assert.ok(results.every((r) => r.success));
      assert.equal(first.answered() + second.answered(), 40);
      assert.ok(second.answered() >= 10, 'the restarted server took the tasks sent while none was running');
      await assert.rejects(client.getResult('default', { timeoutMs: 100 }), ColmenaTimeoutError);
    } finally {
      await client.close();
    }
  });

  it('answers a timed-out task and closes promptly while Redis is out of reach', async () => {
    const executor = new BullmqExecutor('cpu', { url: `redis://127.0.0.1:${await freePort()}` });
    const payload = { method: 'add', serializationMethod: 'json' as const, inputs: [['1', '2'], {}] as [string[], Record<string, string>] };
    const timedOut = await executor.run(remote.add, payload, { signal: AbortSignal.timeout(50) });
    assert.equal(timedOut.failure?.reason, 'timeout');
    const waiting = executor.run(remote.add, payload);
    await executor.close();
    const closed = await waiting;
    assert.equal(closed.failure?.reason, 'cancelled');
    assert.match(closed.failure?.message ?? '', /closed before job .* ended/);
    assert.equal(executor.pending, 0);
  });

  it('leaves no connection, thread or timer open once closed', async () => {
    await main.close();
    await events.close();
    await worker.close();
    assert.equal(main.executor.pending, 0);
    // A closed socket's handle goes away a moment after close() returns.
    const left = () => activeResources().filter((kind) => !resourcesBefore.includes(kind) && kind !== 'ProcessWrap');
    await until(() => left().length === 0, `no handles left (left: ${left().join(', ')})`, 2000).catch(() => {});
    assert.deepEqual(left(), []);
  });
});
