/**
 * `colmena worker --accelerators`: a real worker process pins each task slot to a declared device
 * (no GPU here), for function tasks and executables alike; the task's gpusPerRank travels in the
 * job, and a task asking for more devices than a slot holds (or for any, without --accelerators)
 * fails saying so.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { remoteMethod } from '../../src/methods/spec.js';
import type { Result } from '../../src/models/result.js';
import { LocalQueues } from '../../src/queue/local.js';
import { BullmqExecutor } from '../../src/task-server/bullmq/executor.js';
import { BullmqWorker } from '../../src/task-server/bullmq/worker.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import type { DevicesSeen } from '../fixtures/accelerator-methods.js';
import { WorkerFleet } from '../fixtures/bullmq-workers.js';
import { redisFixture } from '../helpers/redis.js';
import { collectResults } from '../helpers/task-server.js';

process.env.COLMENA_LOG_LEVEL ??= 'error';

const METHODS = fileURLToPath(new URL('../fixtures/accelerator-methods.ts', import.meta.url));
const redis = redisFixture();

/** A task server sending to BullMQ queue `gpu` under `prefix`; sends, then collects `count` results. */
async function collect(prefix: string, count: number, send: (queues: LocalQueues) => Promise<unknown>): Promise<Result[]> {
  const methods = {
    devicesSeen: remoteMethod({ executor: 'gpu' }),
    devicesSeenByExecutable: remoteMethod({ executor: 'gpu' }),
  };
  const queues = new LocalQueues();
  const server = new LocalTaskServer(queues, { methods, executors: { gpu: new BullmqExecutor('gpu', { url: redis.url, prefix }) } }).start();
  return collectResults(queues, server, count, send);
}

const gpuIds = (result: Result): string[] => result.workerInfo!.gpu_ids as string[];

describe('colmena worker --accelerators', () => {
  const fleet = new WorkerFleet();
  before(async () => {
    await redis.start();
  });
  after(async () => {
    await fleet.killAll();
    await redis.stop();
  });

  it('runs each 1-GPU task pinned to its own device, functions and executables, never two on one device at once', async () => {
    const prefix = redis.prefix();
    const worker = await fleet.spawn({ url: redis.url, prefix, executor: 'gpu', methods: METHODS, concurrency: 2, args: ['--accelerators', '3', '5'] });
    assert.match(worker.stdout(), /2 processes pinned to accelerators 3 5/);
    const results = await collect(prefix, 10, async (queues) => {
      for (let i = 0; i < 8; i++) await queues.sendInputs('devicesSeen', [100], { resources: { gpusPerRank: 1 } });
      for (let i = 0; i < 2; i++) await queues.sendInputs('devicesSeenByExecutable', [], { resources: { gpusPerRank: 1 } });
    });
    const byDevice = new Map<string, Result[]>();
    for (const result of results) {
      assert.equal(result.success, true, result.failureInfo?.message);
      assert.equal(result.workerInfo!.hostname, worker.hostname);
      const [id, ...more] = gpuIds(result);
      assert.deepEqual(more, []);
      assert.ok(id === '3' || id === '5', `a declared device, got ${id}`);
      if (result.method === 'devicesSeen') {
        const seen = result.value as DevicesSeen;
        assert.deepEqual([seen.cuda, seen.rocr, seen.hip, seen.ze], [id, id, id, id]);
        assert.notEqual(seen.pid, worker.pid, 'ran in a pinned child, not in the worker itself');
      } else {
        assert.equal(String(result.value).trim(), `${id} ${id} ${id} ${id}`);
      }
      byDevice.set(id!, [...(byDevice.get(id!) ?? []), result]);
    }
    assert.equal(byDevice.size, 2, 'both devices were used');
    for (const [device, uses] of byDevice) {
      uses.sort((a, b) => a.timestamp.computeStarted - b.timestamp.computeStarted);
      for (let i = 1; i < uses.length; i++) {
        assert.ok(uses[i]!.timestamp.computeStarted >= uses[i - 1]!.timestamp.computeEnded, `device ${device} is held by one task at a time`);
      }
    }
  });

  it('fails a task asking for more devices than a slot holds, and one asking for any on a worker without --accelerators', async () => {
    const pinnedPrefix = redis.prefix();
    await fleet.spawn({ url: redis.url, prefix: pinnedPrefix, executor: 'gpu', methods: METHODS, concurrency: 1, args: ['--accelerators', '0'] });
    const [tooMany] = await collect(pinnedPrefix, 1, (queues) => queues.sendInputs('devicesSeen', [], { resources: { gpusPerRank: 2 } }));
    assert.equal(tooMany!.success, false);
    assert.match(tooMany!.failureInfo!.message, /asks for 2 accelerators \(gpusPerRank × cpuProcesses\), but each process of 'bullmq-gpu' is pinned to at most 1/);

    const plainPrefix = redis.prefix();
    await fleet.spawn({ url: redis.url, prefix: plainPrefix, executor: 'gpu', methods: METHODS, concurrency: 1 });
    const [none] = await collect(plainPrefix, 1, (queues) => queues.sendInputs('devicesSeen', [], { resources: { gpusPerRank: 1 } }));
    assert.equal(none!.success, false);
    assert.match(none!.failureInfo!.message, /the processes of 'gpu' have no accelerators: declare them .* or --accelerators for colmena worker/);
  });

  it('refuses --accelerators that disagree with --concurrency, repeat a device, or come with --inline', async () => {
    const base = WorkerFleet.command({ url: redis.url, prefix: 'unused', executor: 'gpu', methods: METHODS, concurrency: 3 });
    const variants: [string, string[], RegExp][] = [
      ['more slots than devices', [...base, '--accelerators', '0', '1'], /concurrency \(3\) must equal the number of accelerators entries \(2\)/],
      ['a device twice', [...base.filter((arg, i) => arg !== '--concurrency' && base[i - 1] !== '--concurrency'), '--accelerators', '0', '0,1'], /device '0' is listed twice/],
    ];
    for (const [what, command, message] of variants) {
      const { process: worker } = fleet.start(command);
      const { code } = await worker.exited;
      assert.notEqual(code, 0, what);
      assert.match(worker.stderr(), message, what);
    }
    assert.throws(
      () => new BullmqWorker({ url: redis.url, executor: 'gpu', methods: METHODS, inline: true, accelerators: ['0'] }),
      /inline cannot pin tasks to accelerators/,
    );
  });
});
