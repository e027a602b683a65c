/**
 * A task asking for accelerators on an executor that shares one process (inline, threads) fails
 * at once, saying which executor can pin devices, instead of running without them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inlineMethod, moduleMethod } from '../../src/methods/spec.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import type * as fixtures from '../fixtures/methods.js';

const url = new URL('../fixtures/methods.ts', import.meta.url);

describe('accelerators on executors that cannot pin them', () => {
  it('inline and threads fail a gpusPerRank task naming the executors that can; tasks without GPUs still run', async () => {
    const methods = {
      onInline: inlineMethod((a: number, b: number) => a + b),
      onThreads: moduleMethod<typeof fixtures.add>(url, 'add', { executor: 'threads' }),
    };
    const queues = new LocalQueues<{ onInline: (a: number, b: number) => number; onThreads: typeof fixtures.add }>();
    const server = new LocalTaskServer(queues, { methods, threads: 1 }).start();
    try {
      for (const [method, executor] of [['onInline', 'inline'], ['onThreads', 'threads']] as const) {
        await queues.sendInputs(method, [1, 2], { resources: { gpusPerRank: 1, cpuProcesses: 2 } });
        const refused = await queues.getResult();
        assert.equal(refused.success, false);
        assert.match(refused.failureInfo!.message, new RegExp(`asks for 2 accelerators .* but '${executor}' runs its tasks in one process`));
        assert.match(refused.failureInfo!.message, /ProcessesExecutor with accelerators/);
        await queues.sendInputs(method, [1, 2]);
        const ran = await queues.getResult();
        assert.equal(ran.success, true, ran.failureInfo?.message);
        assert.equal(ran.value, 3);
      }
    } finally {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    }
  });
});
