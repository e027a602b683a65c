/**
 * The processes executor pinning its children to declared accelerators (no GPU on this machine):
 * each task sees only its child's devices, in every runtime's variable; no two tasks hold a device
 * at once; a task asking for more devices than a child holds fails saying so.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { moduleMethod } from '../../src/methods/spec.js';
import type { Result } from '../../src/models/result.js';
import { LocalQueues } from '../../src/queue/local.js';
import { ProcessesExecutor } from '../../src/task-server/executors/processes.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import type { DevicesSeen } from '../fixtures/accelerator-methods.js';
import { collectResults } from '../helpers/task-server.js';

process.env.COLMENA_LOG_LEVEL ??= 'error';

const FIXTURES = new URL('../fixtures/accelerator-methods.ts', import.meta.url);

/** Run `send` against a task server whose `devicesSeen` and `devicesSeenByExecutable` run on `executor`; collect `count` results. */
async function runOn(executor: ProcessesExecutor, count: number, send: (queues: LocalQueues) => Promise<unknown>): Promise<Result[]> {
  const methods = {
    devicesSeen: moduleMethod(FIXTURES, 'devicesSeen', { executor: 'gpus' }),
    devicesSeenByExecutable: moduleMethod(FIXTURES, 'devicesSeenByExecutable', { executor: 'gpus' }),
  };
  const queues = new LocalQueues();
  const server = new LocalTaskServer(queues, { methods, executors: { gpus: executor } }).start();
  return collectResults(queues, server, count, send);
}

function gpuIds(result: Result): string[] {
  return result.workerInfo!.gpu_ids as string[];
}

/** No device is held by two tasks at the same time, by the results' own compute timestamps. */
function assertNeverShared(results: Result[]): Map<string, Result[]> {
  const byDevice = new Map<string, Result[]>();
  for (const result of results) for (const id of gpuIds(result)) byDevice.set(id, [...(byDevice.get(id) ?? []), result]);
  for (const [device, uses] of byDevice) {
    uses.sort((a, b) => a.timestamp.computeStarted - b.timestamp.computeStarted);
    for (let i = 1; i < uses.length; i++) {
      assert.ok(uses[i]!.timestamp.computeStarted >= uses[i - 1]!.timestamp.computeEnded, `device ${device} is held by one task at a time`);
    }
  }
  return byDevice;
}

describe('ProcessesExecutor accelerators (declared device ids)', () => {
  it('pins each child to its device: a 1-GPU task sees only its own, in CUDA, ROCm and Level Zero variables, never shared at once', async () => {
    const executor = new ProcessesExecutor('gpus', { accelerators: ['0', '1', '2'] });
    assert.equal(executor.capacity, 3);
    const results = await runOn(executor, 12, async (queues) => {
      for (let i = 0; i < 12; i++) await queues.sendInputs('devicesSeen', [100], { resources: { gpusPerRank: 1 } });
    });
    for (const result of results) {
      assert.equal(result.success, true, result.failureInfo?.message);
      const [id, ...more] = gpuIds(result);
      assert.deepEqual(more, []);
      const seen = result.value as DevicesSeen;
      assert.deepEqual([seen.cuda, seen.rocr, seen.hip, seen.ze], [id, id, id, id]);
    }
    const byDevice = assertNeverShared(results);
    assert.ok(byDevice.size > 1, 'several devices were used');
    // One child per device: a device's tasks all ran in the same process (none died).
    for (const uses of byDevice.values()) assert.equal(new Set(uses.map((use) => (use.value as DevicesSeen).pid)).size, 1);
  });

  it("exports the child's device to the executables its tasks launch", async () => {
    const executor = new ProcessesExecutor('gpus', { accelerators: ['7', '9'] });
    const results = await runOn(executor, 4, async (queues) => {
      for (let i = 0; i < 4; i++) await queues.sendInputs('devicesSeenByExecutable', [], { resources: { gpusPerRank: 1 } });
    });
    for (const result of results) {
      assert.equal(result.success, true, result.failureInfo?.message);
      const [id] = gpuIds(result);
      assert.equal(String(result.value).trim(), `${id} ${id} ${id} ${id}`);
    }
  });

  it('gives a task that needs several devices a child holding them; a 1-device task takes the smallest free child', async () => {
    const [alone] = await runOn(new ProcessesExecutor('gpus', { accelerators: ['0,1', '2'] }), 1, (queues) =>
      queues.sendInputs('devicesSeen', [], { resources: { gpusPerRank: 1 } }),
    );
    assert.equal((alone!.value as DevicesSeen).cuda, '2', 'the 1-device child, though listed second');
    const executor = new ProcessesExecutor('gpus', { accelerators: ['0', '1,2', '3'] });
    const results = await runOn(executor, 8, async (queues) => {
      for (let i = 0; i < 4; i++) {
        await queues.sendInputs('devicesSeen', [50], { resources: { gpusPerRank: 2 }, taskInfo: { asked: 2 } });
        await queues.sendInputs('devicesSeen', [50], { resources: { gpusPerRank: 1 }, taskInfo: { asked: 1 } });
      }
    });
    for (const result of results) {
      assert.equal(result.success, true, result.failureInfo?.message);
      const seen = result.value as DevicesSeen;
      assert.equal(seen.cuda, gpuIds(result).join(','));
      // Only the '1,2' child can hold a 2-device task; a 1-device task takes it only when '0' and '3' are busy.
      if (result.taskInfo.asked === 2) assert.deepEqual(gpuIds(result), ['1', '2']);
    }
    assertNeverShared(results);
  });

  it('fails at once, saying why, a task asking for more devices than a child holds (or for any, without accelerators)', async () => {
    const pinned = await runOn(new ProcessesExecutor('gpus', { accelerators: ['0', '1'] }), 1, (queues) =>
      queues.sendInputs('devicesSeen', [], { resources: { gpusPerRank: 1, cpuProcesses: 2 } }),
    );
    assert.equal(pinned[0]!.success, false);
    assert.match(pinned[0]!.failureInfo!.message, /asks for 2 accelerators \(gpusPerRank × cpuProcesses\), but each process of 'gpus' is pinned to at most 1/);
    const unpinned = await runOn(new ProcessesExecutor('gpus', { processes: 1 }), 1, (queues) =>
      queues.sendInputs('devicesSeen', [], { resources: { gpusPerRank: 1 } }),
    );
    assert.equal(unpinned[0]!.success, false);
    assert.match(unpinned[0]!.failureInfo!.message, /have no accelerators: declare them with the accelerators option/);
  });

  it('runs tasks that ask for no device on any child, which then sees that child\'s device', async () => {
    const results = await runOn(new ProcessesExecutor('gpus', { accelerators: ['5'] }), 2, async (queues) => {
      for (let i = 0; i < 2; i++) await queues.sendInputs('devicesSeen', []);
    });
    for (const result of results) assert.equal((result.value as DevicesSeen).cuda, '5');
  });

  it('refuses accelerators that would put one device in two children, and a processes count that disagrees', () => {
    assert.throws(() => new ProcessesExecutor('gpus', { accelerators: ['0', '0,1'] }), /device '0' is listed twice in accelerators/);
    assert.throws(() => new ProcessesExecutor('gpus', { accelerators: [] }), /accelerators must be a non-empty array of device ids/);
    assert.throws(() => new ProcessesExecutor('gpus', { accelerators: ['0', 'a b'] }), /entry "a b" is not a device id/);
    assert.throws(() => new ProcessesExecutor('gpus', { accelerators: ['0', '1'], processes: 4 }), /processes \(4\) must equal the number of accelerators entries \(2\)/);
  });
});
