/**
 * What every executor must do alike: stream a generator's yields, collect them, stop a task that
 * runs past its timeout or is cancelled (with exactly one result), and survive a worker that
 * dies mid-task. BullMQ runs the same cases through real `colmena worker` processes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ExecutableMethod } from '../../src/methods/executable.js';
import { inlineMethod, type MethodsOf } from '../../src/methods/spec.js';
import type { AnyResult } from '../../src/models/method-types.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { fixtureMethods } from '../helpers/methods.js';
import { buildPrograms, processesMatching } from '../helpers/programs.js';
import { fileURLToPath } from 'node:url';
import { BullmqExecutor } from '../../src/task-server/bullmq/executor.js';
import type { Executor } from '../../src/task-server/executor.js';
import { WorkerFleet } from '../fixtures/bullmq-workers.js';
import { redisFixture } from '../helpers/redis.js';

process.env.COLMENA_LOG_LEVEL ??= 'error';
const FIXTURE_METHODS = new URL('../fixtures/methods.ts', import.meta.url);

for (const executor of ['threads', 'processes', 'bullmq'] as const) {
  describe(`executor '${executor}'`, () => {
    const methods = fixtureMethods(executor);
    type M = MethodsOf<typeof methods>;
    let queues: LocalQueues<M>;
    let server: LocalTaskServer;
    // BullMQ: two real `colmena worker` processes serving the same fixture module.
    const redis = redisFixture();
    const fleet = new WorkerFleet();

    before(async () => {
      let executors: Record<string, Executor> | undefined;
      if (executor === 'bullmq') {
        const url = await redis.start();
        const prefix = redis.prefix();
        const spawn = () => fleet.spawn({ url, prefix, executor, methods: fileURLToPath(FIXTURE_METHODS), concurrency: 2 });
        await Promise.all([spawn(), spawn()]);
        executors = { bullmq: new BullmqExecutor('bullmq', { url, prefix }) };
      }
      queues = new LocalQueues<M>();
      server = new LocalTaskServer(queues, { methods, threads: 2, processes: 2, executors }).start();
    });
    after(async () => {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
      if (executor === 'bullmq') {
        await fleet.killAll();
        await redis.stop();
      }
    });

    async function collect(count: number): Promise<AnyResult<M>[]> {
      const results: AnyResult<M>[] = [];
      for (let i = 0; i < count; i++) results.push(await queues.getResult('default', { timeoutMs: 20_000 }));
      return results;
    }

    it('streams a generator: 5 intermediate results, then the final one carrying the return value (none: null)', async () => {
      const id = await queues.sendInputs('countdown', [5, 100]);
      const first = await queues.getResult('default', { timeoutMs: 20_000 });
      assert.equal(first.complete, false);
      assert.equal(first.value, 5);
      assert.equal(queues.activeCount(), 1, 'an intermediate result does not retire the task');
      const rest = await collect(5);
      assert.deepEqual([first, ...rest].map((r) => [r.taskId, r.complete, r.value]), [
        [id, false, 5],
        [id, false, 4],
        [id, false, 3],
        [id, false, 2],
        [id, false, 1],
        [id, true, null],
      ]);
      const final = rest[4]!;
      assert.ok(first.timestamp.resultReceived < final.timestamp.computeEnded, 'the first value arrived before the generator finished');
      assert.equal(queues.activeCount(), 0);
    });

    it('collects a generator into its value, with or without its return value', async () => {
      await queues.sendInputs('squares', [3]);
      await queues.sendInputs('squaresList', [3]);
      await queues.sendInputs('squaresUndeclared', [3]);
      const byMethod = new Map((await collect(3)).map((r) => [r.method, r]));
      assert.deepEqual(byMethod.get('squares')!.value, { yields: [1, 4, 9], returned: 'done' });
      assert.deepEqual(byMethod.get('squaresList')!.value, [1, 4, 9]);
      const undeclared = byMethod.get('squaresUndeclared')!;
      assert.equal(undeclared.success, false);
      assert.match(undeclared.failureInfo!.message, /returned a generator.*generator: 'stream'/);
    });

    it('stops a task that runs past its timeout, with one result marked timed out', async () => {
      await queues.sendInputs('spin', [30_000], { timeoutMs: 200 });
      const [result] = await collect(1);
      assert.equal(result!.success, false);
      assert.equal(result!.timedOut, true);
      assert.match(result!.failureInfo!.message, /timeout of 200 ms/);
      const late = (result!.timestamp.taskReceived - result!.timestamp.startTaskSubmission) * 1000;
      assert.ok(late < 5_000, `stopped long before the method would have ended (took ${late} ms)`);
      // The worker was replaced: the executor still serves.
      await queues.sendInputs('add', [2, 2]);
      assert.equal((await collect(1))[0]!.value, 4);
      assert.equal(queues.activeCount(), 0);
    });

    it('cancels a running task through queues.cancel and through an AbortSignal', async () => {
      const byCall = await queues.sendInputs('sleep', [30_000]);
      const controller = new AbortController();
      const bySignal = await queues.sendInputs('spin', [30_000], { signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await queues.cancel(byCall), true);
      controller.abort();
      const results = await collect(2);
      assert.deepEqual(new Set(results.map((r) => r.taskId)), new Set([byCall, bySignal]));
      for (const result of results) assert.equal(result.cancelled, true);
      assert.equal(await queues.cancel(byCall), false, 'a finished task cannot be cancelled');
      assert.equal(queues.activeCount(), 0);
    });

    it('turns a worker that exits mid-task into a failed result, and replaces it', async () => {
      await queues.sendInputs('exitProcess', []);
      const [crashed] = await collect(1);
      assert.equal(crashed!.success, false);
      assert.equal(crashed!.failureInfo?.reason, 'worker-crashed');
      await queues.sendInputs('add', [1, 2]);
      assert.equal((await collect(1))[0]!.value, 3);
    });
  });
}

describe('stopping executables', () => {
  let programs: Awaited<ReturnType<typeof buildPrograms>>;
  before(async () => {
    programs = await buildPrograms();
  });
  after(async () => programs.cleanup());

  it('kills the program on timeout and on cancel, leaving no process behind', async () => {
    const marker = `${Math.floor(Math.random() * 1e6) + 9_000_000}`;
    const methods = {
      simulate: inlineMethod(new ExecutableMethod<[], string>({ command: [programs.simulator, `marker-${marker}`, '--sleep', '300'] })),
    };
    const queues = new LocalQueues<MethodsOf<typeof methods>>();
    const server = new LocalTaskServer(queues, { methods }).start();
    try {
      await queues.sendInputs('simulate', [], { timeoutMs: 300 });
      const timedOut = await queues.getResult('default', { timeoutMs: 20_000 });
      assert.equal(timedOut.timedOut, true);
      assert.deepEqual(await processesMatching(`marker-${marker}`), []);

      const id = await queues.sendInputs('simulate', []);
      let running: string[] = [];
      const deadline = Date.now() + 10_000;
      while (running.length === 0 && Date.now() < deadline) running = await processesMatching(`marker-${marker}`);
      assert.equal(running.length, 1, 'the program started');
      await queues.cancel(id);
      const cancelled = await queues.getResult('default', { timeoutMs: 20_000 });
      assert.equal(cancelled.cancelled, true);
      assert.deepEqual(await processesMatching(`marker-${marker}`), []);
    } finally {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    }
  });
});

describe('stopping a task server', () => {
  it('cancels tasks still running after abortAfterMs, and each still gets its result', async () => {
    const methods = fixtureMethods('threads');
    const queues = new LocalQueues<MethodsOf<typeof methods>>();
    const server = new LocalTaskServer(queues, { methods, threads: 2 }).start();
    try {
      const ids = [await queues.sendInputs('sleep', [60_000]), await queues.sendInputs('spin', [60_000])];
      await new Promise((resolve) => setTimeout(resolve, 50));
      await server.stop({ abortAfterMs: 100 });
      const results = [await queues.getResult(), await queues.getResult()];
      assert.deepEqual(new Set(results.map((r) => r.taskId)), new Set(ids));
      for (const result of results) assert.equal(result.cancelled, true);
      assert.equal(server.state, 'stopped');
    } finally {
      await queues.close();
    }
  });
});
