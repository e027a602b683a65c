import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Result } from '../../src/models/result.js';
import { moduleMethod } from '../../src/methods/spec.js';
import { LocalQueues } from '../../src/queue/local.js';
import { allocationFromList } from '../../src/task-server/executors/allocation/allocation.js';
import { AllocationExecutor } from '../../src/task-server/executors/allocation/executor.js';
import { LocalTaskServer } from '../../src/task-server/local.js';

const FIXTURES = new URL('./fixtures/launches.ts', import.meta.url);

describe('GPU placement (declared device ids; no GPU on this machine)', () => {
  it('gives 1-GPU tasks on two 4-GPU nodes their own device, never shared at the same time, and only it in the environment', async () => {
    const allocation = allocationFromList(['gpu1', 'gpu2'], { coresPerNode: 8, gpusPerNode: 4 });
    const executor = new AllocationExecutor('gpus', { allocation, shareNodes: true });
    const methods = { show: moduleMethod(FIXTURES, 'showDevices', { executor: 'gpus' }) };
    const queues = new LocalQueues();
    const server = new LocalTaskServer(queues, { methods, executors: { gpus: executor } }).start();
    try {
      for (let i = 0; i < 24; i++) await queues.sendInputs('show', [], { resources: { gpusPerRank: 1 } });
      const results: Result[] = [];
      for (let i = 0; i < 24; i++) results.push(await queues.getResult('default', { timeoutMs: 60_000 }));
      for (const result of results) {
        assert.equal(result.success, true, result.failureInfo?.message);
        const ids = result.workerInfo!.gpu_ids as string[];
        assert.equal(ids.length, 1);
        // CUDA, ROCm and Level Zero variables all name the task's one device.
        assert.equal(String(result.value).trim(), `${ids[0]} ${ids[0]} ${ids[0]}`);
      }
      const byDevice = new Map<string, Result[]>();
      for (const result of results) {
        const device = `${(result.workerInfo!.hosts as string[])[0]}:${(result.workerInfo!.gpu_ids as string[])[0]}`;
        byDevice.set(device, [...(byDevice.get(device) ?? []), result]);
      }
      // The device is held from grant to release (the compute timestamps also cover postprocessing,
      // which runs after the device went to the next task).
      const held = (r: Result) => r.workerInfo as unknown as { placed_at: number; released_at: number };
      for (const [device, uses] of byDevice) {
        uses.sort((a, b) => held(a).placed_at - held(b).placed_at);
        for (let i = 1; i < uses.length; i++) {
          assert.ok(held(uses[i]!).placed_at >= held(uses[i - 1]!).released_at, `${device} is used by one task at a time`);
        }
      }
      assert.ok(byDevice.size > 1, 'several devices were used');
    } finally {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    }
  });
});
