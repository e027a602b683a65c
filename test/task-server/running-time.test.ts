/**
 * `timeoutMs` counts running time: a local task server hands an executor with a declared capacity
 * no more tasks than it has slots, so tasks beyond it wait in the server (first come first served,
 * cancellable, bounded by `queueTimeoutMs` if set) and their timeout starts only when they get a
 * slot. Real worker threads and child processes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inlineMethod, type MethodsOf } from '../../src/methods/spec.js';
import type { AnyResult } from '../../src/models/method-types.js';
import { LocalQueues } from '../../src/queue/local.js';
import type { TaskPayload, TaskReply } from '../../src/methods/envelope.js';
import type { RunContext } from '../../src/methods/run.js';
import type { MethodSpec } from '../../src/methods/spec.js';
import { InlineExecutor } from '../../src/task-server/executors/inline.js';
import { ThreadsExecutor } from '../../src/task-server/executors/threads.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { fixtureMethods } from '../helpers/methods.js';
import { until } from '../helpers/until.js';

process.env.COLMENA_LOG_LEVEL ??= 'error';

type Methods = MethodsOf<ReturnType<typeof fixtureMethods>>;

/** A server of the fixture methods on `executor` with 2 workers and a window of 64, warmed up. */
async function startServer(executor: 'threads' | 'processes', options: { queueTimeoutMs?: number; threads?: ThreadsExecutor } = {}) {
  const queues = new LocalQueues<Methods>();
  const server = new LocalTaskServer(queues, {
    methods: fixtureMethods(executor),
    threads: 2,
    processes: 2,
    window: 64,
    queueTimeoutMs: options.queueTimeoutMs,
    executors: options.threads ? { threads: options.threads } : undefined,
  }).start();
  // Both workers started and the fixture module loaded: the first task's start-up is not the subject here.
  await Promise.all([queues.sendInputs('sleep', [1]), queues.sendInputs('sleep', [1])]);
  for (let i = 0; i < 2; i++) assert.equal((await queues.getResult()).success, true);
  return {
    queues,
    server,
    async close(): Promise<void> {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    },
  };
}

async function results(queues: LocalQueues<Methods>, count: number): Promise<AnyResult<Methods>[]> {
  const all: AnyResult<Methods>[] = [];
  for (let i = 0; i < count; i++) all.push(await queues.getResult('default', { timeoutMs: 30_000 }));
  return all;
}

for (const executor of ['threads', 'processes'] as const) {
  describe(`timeoutMs on the '${executor}' executor counts running time`, () => {
    it('10 tasks of 200 ms with timeoutMs 300 on 2 workers and a window of 64 all succeed', async () => {
      const threads = executor === 'threads' ? new ThreadsExecutor('threads', { threads: 2 }) : undefined;
      const { queues, server, close } = await startServer(executor, { threads });
      try {
        const ids = [];
        for (let i = 0; i < 10; i++) ids.push(await queues.sendInputs('sleep', [200], { timeoutMs: 300 }));
        await until(() => server.inFlight === 10, 'all 10 tasks taken by the server');
        // The 8 beyond the 2 workers wait in the server, not in the pool, where a timeout would run.
        if (threads) assert.equal(threads.queued, 0);
        const all = await results(queues, 10);
        for (const result of all) assert.equal(result.success, true, result.failureInfo?.message);
        assert.deepEqual(new Set(all.map((r) => r.taskId)), new Set(ids));
        // First come, first served: the slots went out in the order the tasks were sent.
        const handedOver = new Map(all.map((r) => [r.taskId, r.timestamp.startTaskSubmission]));
        const inSendOrder = ids.map((id) => handedOver.get(id)!);
        assert.deepEqual(inSendOrder, [...inSendOrder].sort((a, b) => a - b));
      } finally {
        await close();
      }
    });

    it('a task that really runs past its timeoutMs still times out, and the one waiting beside it does not', async () => {
      const { queues, close } = await startServer(executor);
      try {
        const long = await queues.sendInputs('sleep', [10_000], { timeoutMs: 1_500 });
        const blocker = await queues.sendInputs('sleep', [400]);
        // Waits ~400 ms for the blocker's slot, then runs 100 ms: over 300 in all, under it running.
        const waiting = await queues.sendInputs('sleep', [100], { timeoutMs: 300 });
        const byId = new Map((await results(queues, 3)).map((r) => [r.taskId, r]));
        assert.equal(byId.get(long)?.timedOut, true);
        assert.equal(byId.get(blocker)?.success, true, byId.get(blocker)?.failureInfo?.message);
        assert.equal(byId.get(waiting)?.success, true, byId.get(waiting)?.failureInfo?.message);
      } finally {
        await close();
      }
    });

    it('a timeoutMs past what one timer holds (3e9 ms) does not fire early, waiting or running', async () => {
      const { queues, close } = await startServer(executor);
      try {
        for (let i = 0; i < 4; i++) await queues.sendInputs('sleep', [50], { timeoutMs: 3e9 });
        for (const result of await results(queues, 4)) assert.equal(result.success, true, result.failureInfo?.message);
      } finally {
        await close();
      }
    });

    it('cancelling a task waiting for a slot answers it as cancelled at once, while the running ones run on', async () => {
      const { queues, server, close } = await startServer(executor);
      try {
        const running = [await queues.sendInputs('sleep', [60_000]), await queues.sendInputs('sleep', [60_000])];
        const waiting = await queues.sendInputs('sleep', [10]);
        await until(() => server.inFlight === 3, 'three tasks taken');
        assert.equal(await queues.cancel(waiting), true);
        const first = await queues.getResult('default', { timeoutMs: 30_000 });
        assert.equal(first.taskId, waiting, 'the waiting task is answered before the running ones end');
        assert.equal(first.cancelled, true);
        assert.ok(Number.isNaN(first.timestamp.computeStarted), 'it never started');
        await until(() => server.inFlight === 2, 'the cancelled task to leave the server');
        for (const id of running) await queues.cancel(id);
        const rest = await results(queues, 2);
        assert.deepEqual(new Set(rest.map((r) => r.taskId)), new Set(running));
        for (const result of rest) assert.equal(result.cancelled, true);
      } finally {
        await close();
      }
    });

    it('stop({ abortAfterMs }) answers running and waiting tasks, each with exactly one result', async () => {
      const { queues, server } = await startServer(executor);
      try {
        const ids = [];
        for (let i = 0; i < 5; i++) ids.push(await queues.sendInputs('sleep', [60_000]));
        await until(() => server.inFlight === 5, 'five tasks taken');
        await server.stop({ abortAfterMs: 100 });
        const all = await results(queues, 5);
        assert.deepEqual(new Set(all.map((r) => r.taskId)), new Set(ids));
        for (const result of all) assert.equal(result.cancelled, true);
        assert.equal(queues.activeCount(), 0);
        assert.equal(server.state, 'stopped');
      } finally {
        await queues.close();
      }
    });
  });
}

describe('a thread replaced after a kill', () => {
  it("is not handed a task before it is ready, so its start-up does not count against the next task's timeoutMs", async () => {
    const { queues, close } = await startServer('threads');
    try {
      const killed = await queues.sendInputs('sleep', [10_000], { timeoutMs: 300 });
      const blocker = await queues.sendInputs('sleep', [1_500]);
      // Takes the killed task's slot; its thread restarts first (~250 ms here), which must not count.
      const next = await queues.sendInputs('sleep', [50], { timeoutMs: 250 });
      const byId = new Map((await results(queues, 3)).map((r) => [r.taskId, r]));
      assert.equal(byId.get(killed)?.timedOut, true);
      assert.equal(byId.get(blocker)?.success, true, byId.get(blocker)?.failureInfo?.message);
      assert.equal(byId.get(next)?.success, true, byId.get(next)?.failureInfo?.message);
    } finally {
      await close();
    }
  });
});

describe('queueTimeoutMs bounds the wait for a slot', () => {
  it('a task that waits longer ends as timed out without starting; the running one is untouched', async () => {
    const { queues, close } = await startServer('threads', { queueTimeoutMs: 150 });
    try {
      const running = [await queues.sendInputs('sleep', [1_500]), await queues.sendInputs('sleep', [1_500])];
      const waiting = await queues.sendInputs('sleep', [10]);
      const first = await queues.getResult('default', { timeoutMs: 30_000 });
      assert.equal(first.taskId, waiting);
      assert.equal(first.timedOut, true);
      assert.match(first.failureInfo?.message ?? '', /queueTimeoutMs.*never started/);
      assert.ok(Number.isNaN(first.timestamp.computeStarted));
      for (const result of await results(queues, 2)) {
        assert.ok(running.includes(result.taskId));
        assert.equal(result.success, true, result.failureInfo?.message);
      }
    } finally {
      await close();
    }
  });

  it('is refused unless it is a positive number of milliseconds within limits.maxTimeoutMs', () => {
    const queues = new LocalQueues();
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 366 * 86_400_000]) {
      assert.throws(() => new LocalTaskServer(queues, { methods: {}, queueTimeoutMs: bad }), /queueTimeoutMs must be a positive number of milliseconds/);
    }
  });
});

describe('which executors the server holds tasks back for', () => {
  /** An executor on the server's loop that counts how many of its tasks run at once. */
  function countingExecutor(options: { capacity?: number }) {
    const inline = new InlineExecutor('counted');
    const executor = {
      name: 'counted',
      ...options,
      running: 0,
      peak: 0,
      async run(spec: MethodSpec, payload: TaskPayload, context: RunContext): Promise<TaskReply> {
        executor.peak = Math.max(executor.peak, ++executor.running);
        try {
          return await inline.run(spec, payload, context);
        } finally {
          executor.running--;
        }
      },
      close: () => inline.close(),
    };
    return executor;
  }

  for (const [label, options, peak] of [
    ['a declared capacity of 2 is handed 2 tasks at a time', { capacity: 2 }, 2],
    ['no declared capacity is handed every task at once', {}, 12],
  ] as const) {
    it(label, async () => {
      const executor = countingExecutor(options);
      const methods = { nap: inlineMethod(async (ms: number) => void (await new Promise((resolve) => setTimeout(resolve, ms))), { executor: 'counted' }) };
      const queues = new LocalQueues<MethodsOf<typeof methods>>();
      const server = new LocalTaskServer(queues, { methods, executors: { counted: executor } }).start();
      try {
        for (let i = 0; i < 12; i++) await queues.sendInputs('nap', [300]);
        for (let i = 0; i < 12; i++) assert.equal((await queues.getResult()).success, true);
        assert.equal(executor.peak, peak);
      } finally {
        await queues.sendKillSignal();
        await server.join();
        await queues.close();
      }
    });
  }

  it('inline tasks are all handed over at once (no slot count)', async () => {
    let running = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const methods = {
      hold: inlineMethod(async () => {
        running++;
        await gate;
      }),
    };
    const queues = new LocalQueues<MethodsOf<typeof methods>>();
    const server = new LocalTaskServer(queues, { methods }).start();
    try {
      for (let i = 0; i < 40; i++) await queues.sendInputs('hold', []);
      await until(() => running === 40, 'all 40 inline tasks running at once');
      release();
      for (let i = 0; i < 40; i++) assert.equal((await queues.getResult()).success, true);
    } finally {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    }
  });
});
