/**
 * The same keyword binding, task context and streaming through BullMQ: two real `colmena worker`
 * processes serve test/methods/fixtures.ts; the options travel in the job's envelope.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { remoteMethod, type MethodsOf } from '../../src/methods/spec.js';
import { LocalQueues } from '../../src/queue/local.js';
import { BullmqExecutor } from '../../src/task-server/bullmq/executor.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { WorkerFleet } from '../fixtures/bullmq-workers.js';
import { redisFixture } from '../helpers/redis.js';
import type * as fixtures from './fixtures.js';

process.env.COLMENA_LOG_LEVEL ??= 'error';

describe('keywords, task context and streaming on BullMQ workers', () => {
  const methods = {
    subtract: remoteMethod<typeof fixtures.subtract>({ executor: 'bullmq', params: ['a', 'b', 'scale'] }),
    whoAmI: remoteMethod<typeof fixtures.whoAmI>({ executor: 'bullmq', taskContext: true }),
    lockstep: remoteMethod<typeof fixtures.lockstep>({ executor: 'bullmq', generator: 'stream', streamTopic: 'partial' }),
  };
  type M = MethodsOf<typeof methods>;
  const redis = redisFixture();
  const fleet = new WorkerFleet();
  let queues: LocalQueues<M>;
  let server: LocalTaskServer;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colmena-bullmq-ctx-'));
    const url = await redis.start();
    const prefix = redis.prefix();
    const spawn = () => fleet.spawn({ url, prefix, executor: 'bullmq', methods: fileURLToPath(new URL('./fixtures.ts', import.meta.url)), concurrency: 2 });
    await Promise.all([spawn(), spawn()]);
    queues = new LocalQueues<M>({ topics: ['sim', 'partial'] });
    server = new LocalTaskServer(queues, { methods, executors: { bullmq: new BullmqExecutor('bullmq', { url, prefix }) } }).start();
  });
  after(async () => {
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
    await fleet.killAll();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('binds keyword arguments by name and refuses an unknown one', async () => {
    await queues.sendInputs('subtract', [5] as never, { kwargs: { scale: 10, b: 3 } });
    assert.equal((await queues.getResult('default', { timeoutMs: 20_000 })).value, 20);
    await queues.sendInputs('subtract', [5] as never, { kwargs: { c: 3 } });
    assert.match((await queues.getResult('default', { timeoutMs: 20_000 })).failureInfo!.message, /unexpected keyword argument 'c'/);
  });

  it('gives the method its task context', async () => {
    const id = await queues.sendInputs('whoAmI', ['q'], { topic: 'sim', resources: { cpuProcesses: 3 } });
    const result = await queues.getResult('sim', { timeoutMs: 20_000 });
    assert.equal(result.success, true, result.failureInfo?.message);
    assert.deepEqual(result.value, { tag: 'q', taskId: id, method: 'whoAmI', topic: 'sim', resources: { nodeCount: 1, cpuProcesses: 3, cpuThreads: 1 }, signal: true });
  });

  it('streams each yield to the stream topic while the generator waits, then the return value', async () => {
    const id = await queues.sendInputs('lockstep', [dir, 2, 'end']);
    for (let i = 1; i <= 2; i++) {
      const item = await queues.getResult('partial', { timeoutMs: 20_000 });
      assert.deepEqual([item.taskId, item.complete, item.value], [id, false, i]);
      await writeFile(join(dir, `ack-${i}`), '');
    }
    const final = await queues.getResult('default', { timeoutMs: 20_000 });
    assert.deepEqual([final.taskId, final.complete, final.value], [id, true, 'end']);
  });
});
