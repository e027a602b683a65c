import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { remoteMethod } from '../../src/methods/spec.js';
import { LocalQueues } from '../../src/queue/local.js';
import { BullmqExecutor } from '../../src/task-server/bullmq/executor.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { SlurmProvider } from '../../src/task-server/providers/slurm.js';
import type * as fixtures from '../fixtures/bullmq-methods.js';
import { BULLMQ_METHODS } from '../fixtures/bullmq-workers.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { type SlurmClusterHandle, startSlurmCluster } from '../helpers/slurm-cluster.js';

/** Like `until`, for a condition that needs a Slurm command to answer. */
async function untilAsync(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('SlurmProvider on the real 3-node test cluster', () => {
  let cluster: SlurmClusterHandle;
  before(async () => {
    cluster = await startSlurmCluster({ nodes: 3 });
  });
  after(async () => cluster?.stop());

  const running = async (): Promise<string[]> =>
    (await cluster.command('squeue', ['-h', '-n', 'colmena-block', '-t', 'RUNNING', '-o', '%i'])).split('\n').filter(Boolean);
  const anyJobs = async (): Promise<string[]> => (await cluster.command('squeue', ['-h', '-n', 'colmena-block', '-o', '%i'])).split('\n').filter(Boolean);

  it('grows from 0 to 3 worker jobs under load, back to 0 when idle, and cancels what it holds on close', async () => {
    let demand = 0;
    const provider = new SlurmProvider({
      command: ['sleep', '600'],
      demand: () => demand,
      maxBlocks: 3,
      pollMs: 200,
      env: cluster.env,
    }).start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.deepEqual(await anyJobs(), [], 'no demand, no job');
      demand = 5;
      await untilAsync(async () => (await running()).length === 3, 'three worker jobs running');
      assert.equal(provider.blocks.length, 3, 'never more than maxBlocks');
      demand = 1;
      await untilAsync(async () => (await anyJobs()).length === 1, 'one job left');
      demand = 0;
      await untilAsync(async () => (await anyJobs()).length === 0, 'no job left when idle');
      demand = 2;
      await untilAsync(async () => (await running()).length === 2, 'two jobs again');
    } finally {
      await provider.close();
    }
    await untilAsync(async () => (await anyJobs()).length === 0, 'close cancels every job');
  });

  it('a failing squeue (Slurm commands unavailable for a while) neither forgets its job nor submits another', async () => {
    const env = { ...cluster.env };
    const provider = new SlurmProvider({ command: ['sleep', '600'], demand: () => 1, maxBlocks: 1, pollMs: 100, env }).start();
    try {
      await untilAsync(async () => (await running()).length === 1, 'one job');
      const [jobId] = await running();
      env.PATH = '/nonexistent'; // squeue and sbatch now fail at once (not found)
      // Absence of a resubmission needs a window: several polls while Slurm cannot be asked.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.deepEqual(provider.blocks.map((b) => b.jobId), [jobId], 'the job is kept while squeue fails');
      env.PATH = cluster.env.PATH;
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.deepEqual(await anyJobs(), [jobId], 'no second job once squeue answers again');
    } finally {
      await provider.close();
    }
    await untilAsync(async () => (await anyJobs()).length === 0, 'close cancels it');
  });

  it('keeps minBlocks even with no demand', async () => {
    const provider = new SlurmProvider({ command: ['sleep', '600'], demand: () => 0, minBlocks: 1, maxBlocks: 2, pollMs: 200, env: cluster.env }).start();
    try {
      await untilAsync(async () => (await running()).length === 1, 'one job');
    } finally {
      await provider.close();
    }
    await untilAsync(async () => (await anyJobs()).length === 0, 'close cancels it');
  });

  it('runs 300 tasks on colmena workers in its jobs, one job cancelled mid-run (scancel), each task with exactly one result', async () => {
    const redis = await startRedisServer();
    const prefix = `hpc-${process.pid}`;
    const methods = { sleep: remoteMethod<typeof fixtures.sleep>({ executor: 'cpu' }) };
    const queues = new LocalQueues<{ sleep: typeof fixtures.sleep }>();
    const server = new LocalTaskServer(queues, { methods, executors: { cpu: new BullmqExecutor('cpu', { url: redis.url, prefix }) } }).start();
    // Absolute paths: the jobs run in the provider's own directory.
    const worker = [
      process.execPath, '--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)),
      'worker', '--redis', redis.url, '--prefix', prefix, '--executor', 'cpu', '--methods', BULLMQ_METHODS, '--concurrency', '2',
    ];
    let outstanding = 0;
    const provider = new SlurmProvider({ command: worker, demand: () => outstanding, tasksPerBlock: 2, maxBlocks: 3, pollMs: 200, env: { ...cluster.env, COLMENA_LOG_LEVEL: 'error' } }).start();
    try {
      const sent = new Set<string>();
      for (let i = 0; i < 300; i++) {
        sent.add(await queues.sendInputs('sleep', [50]));
        outstanding++;
      }
      const seen = new Map<string, number>();
      let cancelled = false;
      for (let i = 0; i < 300; i++) {
        const result = await queues.getResult('default', { timeoutMs: 120_000 });
        outstanding--;
        assert.equal(result.success, true, result.failureInfo?.message);
        seen.set(result.taskId, (seen.get(result.taskId) ?? 0) + 1);
        if (!cancelled && i >= 20) {
          const jobs = await running();
          if (jobs.length >= 2) {
            await cluster.command('scancel', [jobs[0]!]);
            cancelled = true;
          }
        }
      }
      assert.ok(cancelled, 'a worker job was cancelled mid-run');
      assert.equal(seen.size, 300);
      assert.deepEqual([...seen.keys()].sort(), [...sent].sort());
      assert.ok([...seen.values()].every((count) => count === 1), 'exactly one result each');
      await untilAsync(async () => (await anyJobs()).length === 0, 'the jobs go once idle');
    } finally {
      await provider.close();
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
      await redis.stop();
    }
  });

  it('refuses bad options, naming them', () => {
    assert.throws(() => new SlurmProvider({ command: [], demand: () => 0 }), /needs `command`/);
    assert.throws(() => new SlurmProvider({ command: ['x'], demand: () => 0, minBlocks: 2, maxBlocks: 1 }), /minBlocks ≤ maxBlocks/);
  });
});
