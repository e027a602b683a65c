/**
 * The queue and task-server contract, run against every transport: the same behaviour whether
 * thinker and task server share a process (local) or talk through Redis.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ColmenaTimeoutError, UnknownTopicError } from '../../src/common/errors.js';
import type { MethodsOf } from '../../src/methods/spec.js';
import type { MethodMap } from '../../src/models/method-types.js';
import type { ColmenaQueues, QueuesOptions } from '../../src/queue/base.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { flakyMethod, threadMethods } from '../helpers/methods.js';
import { activeResources } from '../helpers/until.js';

function allMethods() {
  return { ...threadMethods(), flaky: flakyMethod(2), flakyForever: flakyMethod(1_000_000) };
}
type Methods = MethodsOf<ReturnType<typeof allMethods>>;

export interface QueuePair<M extends MethodMap> {
  /** The thinker's side. */
  client: ColmenaQueues<M>;
  /** The task server's side (may be the same object). */
  server: ColmenaQueues;
  close(): Promise<void>;
}

export interface TransportUnderTest {
  name: string;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  pair<M extends MethodMap>(options?: QueuesOptions): QueuePair<M>;
}

export function queueContract(transport: TransportUnderTest): void {
  describe(`queues contract: ${transport.name}`, () => {
    let pair: QueuePair<Methods>;
    let queues: ColmenaQueues<Methods>;
    let server: LocalTaskServer;

    before(async () => {
      await transport.setup?.();
      pair = transport.pair<Methods>({ topics: ['sim', 'ml'] });
      queues = pair.client;
      server = new LocalTaskServer(pair.server, { methods: allMethods(), threads: 2 }).start();
    });

    after(async () => {
      await queues.sendKillSignal();
      await server.join();
      await pair.close();
      await transport.teardown?.();
    });

    it('round-trips a task with its timing record', async () => {
      const id = await queues.sendInputs('add', [1, 2]);
      const result = await queues.getResult();
      assert.equal(result.taskId, id);
      assert.equal(result.method, 'add');
      assert.equal(result.success, true);
      assert.equal(result.complete, true);
      assert.equal(result.value, 3);
      assert.deepEqual(result.args, [1, 2]);
      assert.ok(result.workerInfo?.hostname);
      assert.equal(typeof result.workerInfo?.pid, 'number');
      const t = result.timestamp;
      for (const [earlier, later] of [
        ['created', 'inputReceived'],
        ['inputReceived', 'computeStarted'],
        ['computeStarted', 'computeEnded'],
        ['computeEnded', 'resultSent'],
        ['resultSent', 'resultReceived'],
      ] as const) {
        assert.ok(t[earlier] <= t[later], `${earlier} (${t[earlier]}) <= ${later} (${t[later]})`);
      }
      for (const field of ['running', 'serializeInputs', 'deserializeInputs', 'serializeResults', 'deserializeResults'] as const) {
        assert.ok(result.time[field] >= 0, `time.${field} measured`);
      }
      assert.ok(result.messageSizes.inputs! > 0 && result.messageSizes.value! > 0);
    });

    it('passes keyword arguments as a final object', async () => {
      await queues.sendInputs('add', [1, 2], { kwargs: { c: 10 } });
      const result = await queues.getResult();
      assert.equal(result.value, 13);
      assert.deepEqual(result.kwargs, { c: 10 });
    });

    it('answers on the topic the task was sent with', async () => {
      const sim = await queues.sendInputs('echo', ['to sim'], { topic: 'sim' });
      const ml = await queues.sendInputs('echo', ['to ml'], { topic: 'ml' });
      assert.equal(queues.activeCount('sim'), 1);
      const fromMl = await queues.getResult('ml');
      const fromSim = await queues.getResult('sim');
      assert.equal(fromMl.taskId, ml);
      assert.equal(fromMl.value, 'to ml');
      assert.equal(fromSim.taskId, sim);
      assert.equal(queues.activeCount('sim'), 0);
    });

    it('refuses an unknown topic, listing the known ones', async () => {
      await assert.rejects(queues.sendInputs('add', [1, 2], { topic: 'nope' }), (error: unknown) => {
        assert.ok(error instanceof UnknownTopicError);
        assert.match(error.message, /Unknown topic 'nope'.*default, sim, ml/);
        return true;
      });
      await assert.rejects(queues.getResult('nope'), UnknownTopicError);
      assert.equal(queues.activeCount(), 0);
    });

    it('drops inputs when keepInputs is false, and echoes task info and resources', async () => {
      await queues.sendInputs('add', [2, 3], {
        keepInputs: false,
        taskInfo: { round: 4, tag: 'café' },
        resources: { nodeCount: 2, cpuProcesses: 4, cpuThreads: 2 },
      });
      const result = await queues.getResult();
      assert.equal(result.value, 5);
      assert.deepEqual(result.inputs, [[], {}]);
      assert.deepEqual(result.taskInfo, { round: 4, tag: 'café' });
      assert.equal(result.resources.nodeCount, 2);
      assert.equal(result.resources.cpuThreads, 2);
      assert.equal(result.totalRanks, 8);
    });

    it('reports a failure with its error name, message and stack', async () => {
      await queues.sendInputs('fail', ['on purpose']);
      const result = await queues.getResult();
      assert.equal(result.success, false);
      assert.equal(result.complete, true);
      // No value, as Python's None (null once decoded; undefined before).
      assert.ok(result.value === null || result.value === undefined, `no value, got ${String(result.value)}`);
      assert.equal(result.failureInfo?.name, 'RangeError');
      assert.equal(result.failureInfo?.message, 'asked to fail: on purpose');
      assert.match(result.failureInfo!.stack, /at fail/);
    });

    it('answers an unknown method at once, naming the methods served', async () => {
      // @ts-expect-error: the method is deliberately not in the method map
      await queues.sendInputs('simulat', [1]);
      const result = await queues.getResult();
      assert.equal(result.success, false);
      assert.equal(result.failureInfo?.reason, 'unknown-method');
      assert.match(result.failureInfo!.message, /'simulat' is not served here\. This server runs: add, echo/);
      assert.equal(queues.activeCount(), 0);
    });

    it('retries a failing task within its budget and records the failed attempts', async () => {
      await queues.sendInputs('flaky', [], { maxRetries: 2 });
      const result = await queues.getResult();
      assert.equal(result.success, true);
      assert.equal(result.value, 3);
      assert.equal(result.retries, 2);
      assert.equal(result.failedAttempts.length, 2);
      assert.deepEqual(
        result.failedAttempts.map((a) => a.failure.message),
        ['flaky failure 1', 'flaky failure 2'],
      );
    });

    it('gives up after the retry budget', async () => {
      await queues.sendInputs('flakyForever', [], { maxRetries: 3 });
      const result = await queues.getResult();
      assert.equal(result.success, false);
      assert.equal(result.retries, 3);
      assert.equal(result.failedAttempts.length, 3);
    });

    it('turns a crashed worker thread into a failed result and keeps serving', async () => {
      await queues.sendInputs('exitThread', []);
      const crashed = await queues.getResult();
      assert.equal(crashed.success, false);
      assert.equal(crashed.failureInfo?.reason, 'worker-crashed');
      await queues.sendInputs('add', [4, 4]);
      assert.equal((await queues.getResult()).value, 8);
    });

    it('times out and aborts a wait for a result without losing the result', async () => {
      await assert.rejects(queues.getResult('default', { timeoutMs: 20 }), ColmenaTimeoutError);
      const controller = new AbortController();
      const waiting = queues.getResult('default', { signal: controller.signal });
      controller.abort(new Error('stop waiting'));
      await assert.rejects(waiting, /stop waiting/);
      await queues.sendInputs('add', [1, 1]);
      assert.equal((await queues.getResult()).value, 2);
    });

    it('waitUntilDone resolves after every batch of 1,000 instant tasks', async () => {
      for (let round = 0; round < 3; round++) {
        const ids = new Set<string>();
        for (let i = 0; i < 1000; i++) ids.add(await queues.sendInputs('noop', [], { topic: i % 2 ? 'sim' : 'ml' }));
        const collect = async (topic: string) => {
          for (let i = 0; i < 500; i++) ids.delete((await queues.getResult(topic)).taskId);
        };
        const done = queues.waitUntilDone({ timeoutMs: 30_000 });
        await Promise.all([collect('sim'), collect('ml'), done]);
        assert.equal(ids.size, 0);
        assert.equal(queues.activeCount(), 0);
        await queues.waitUntilDone();
      }
    });
  });

  describe(`kill signal: ${transport.name}`, () => {
    before(async () => transport.setup?.());
    after(async () => transport.teardown?.());

    it('delivers all 100 tasks in flight, then the server exits leaving no open handles', async () => {
      const baseline = activeResources();
      const pair = transport.pair<Methods>();
      const server = new LocalTaskServer(pair.server, { methods: threadMethods(), threads: 2 }).start();
      for (let i = 0; i < 100; i++) await pair.client.sendInputs('sleep', [i % 5]);
      await pair.client.sendKillSignal();
      await server.join();
      assert.equal(server.state, 'stopped');
      const ids = new Set<string>();
      for (let i = 0; i < 100; i++) ids.add((await pair.client.getResult('default', { timeoutMs: 10_000 })).taskId);
      assert.equal(ids.size, 100);
      assert.equal(pair.client.activeCount(), 0);
      await pair.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(activeResources(), baseline);
    });
  });
}
