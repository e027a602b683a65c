import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Result } from '../../src/models/result.js';
import { moduleMethod } from '../../src/methods/spec.js';
import { LocalQueues } from '../../src/queue/local.js';
import { allocationFromSlurm } from '../../src/task-server/executors/allocation/allocation.js';
import { AllocationExecutor } from '../../src/task-server/executors/allocation/executor.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { processesMatching } from '../helpers/programs.js';
import { type SlurmClusterHandle, startSlurmCluster } from '../helpers/slurm-cluster.js';

const FIXTURES = new URL('./fixtures/launches.ts', import.meta.url);

/** Most nodes in use at once, from each result's hosts and when it held them (placed_at → released_at). */
function peakNodes(results: Result[]): number {
  const edges = results.flatMap((r) => {
    const { hosts, placed_at: from, released_at: to } = r.workerInfo as unknown as { hosts: string[]; placed_at: number; released_at: number };
    assert.ok(from <= to && to <= r.timestamp.computeEnded, 'nodes are held within the task');
    return [
      { at: from, change: hosts.length },
      { at: to, change: -hosts.length },
    ];
  });
  // Ends before starts at the same instant: a node handed on is not two nodes.
  edges.sort((a, b) => a.at - b.at || a.change - b.change);
  let now = 0;
  let peak = 0;
  for (const edge of edges) peak = Math.max(peak, (now += edge.change));
  return peak;
}

describe('On a real Slurm allocation (3 nodes)', { concurrency: 1 }, () => {
  let cluster: SlurmClusterHandle;
  let jobId: string;
  const saved = { ...process.env };

  before(async () => {
    cluster = await startSlurmCluster({ nodes: 3 });
    const { stderr } = await import('node:child_process').then(({ execFile }) =>
      new Promise<{ stderr: string }>((resolve, reject) =>
        execFile('salloc', ['-N3', '--no-shell'], { env: cluster.env }, (error, _stdout, stderrText) => (error ? reject(error) : resolve({ stderr: stderrText }))),
      ),
    );
    jobId = /Granted job allocation (\d+)/.exec(stderr)?.[1] ?? '';
    assert.ok(jobId, `salloc granted a job: ${stderr}`);
    const nodelist = (await cluster.command('squeue', ['-h', '-j', jobId, '-o', '%N'])).trim();
    // The task server runs "inside" the job: srun steps go to it.
    Object.assign(process.env, { SLURM_CONF: cluster.env.SLURM_CONF, SLURM_JOB_ID: jobId, SLURM_JOB_NODELIST: nodelist, SLURM_JOB_CPUS_PER_NODE: '4(x3)' });
  });

  after(async () => {
    for (const name of ['SLURM_CONF', 'SLURM_JOB_ID', 'SLURM_JOB_NODELIST', 'SLURM_JOB_CPUS_PER_NODE']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    if (jobId) await cluster.command('scancel', [jobId]).catch(() => '');
    await cluster?.stop();
  });

  async function serve(backfill = false) {
    const allocation = await allocationFromSlurm(process.env);
    const executor = new AllocationExecutor('allocation', { allocation, backfill });
    const methods = {
      names: moduleMethod(FIXTURES, 'srunNodeNames', { executor: 'allocation' }),
      sleep: moduleMethod(FIXTURES, 'srunSleep', { executor: 'allocation' }),
    };
    const queues = new LocalQueues();
    const server = new LocalTaskServer(queues, { methods, executors: { allocation: executor } }).start();
    return {
      allocation,
      queues,
      async close() {
        await queues.sendKillSignal();
        await server.join();
        await queues.close();
      },
    };
  }

  it('discovers the job\'s nodes from SLURM_JOB_NODELIST', async () => {
    const allocation = await allocationFromSlurm(process.env);
    assert.deepEqual(allocation.nodes.map((n) => [n.name, n.cores]), [['n1', 4], ['n2', 4], ['n3', 4]]);
  });

  it('runs a 2-node srun task\'s ranks on two distinct Slurm nodes, the ones it was placed on', async () => {
    const run = await serve();
    try {
      await run.queues.sendInputs('names', [], { resources: { nodeCount: 2 } });
      const result = await run.queues.getResult('default', { timeoutMs: 60_000 });
      assert.equal(result.success, true, result.failureInfo?.message);
      const ranOn = String(result.value).trim().split('\n').sort();
      assert.equal(new Set(ranOn).size, 2, `two distinct nodes: ${ranOn.join(', ')}`);
      assert.deepEqual(ranOn, [...(result.workerInfo!.hosts as string[])].sort());
    } finally {
      await run.close();
    }
  });

  for (const backfill of [false, true]) {
    it(`runs 40 srun tasks of 1–3 nodes without ever using more than 3 nodes (${backfill ? 'backfill' : 'FIFO'})`, async () => {
      const run = await serve(backfill);
      try {
        for (let i = 0; i < 40; i++) await run.queues.sendInputs('names', [], { resources: { nodeCount: ((i * 7 + 3) % 3) + 1 } });
        const results: Result[] = [];
        for (let i = 0; i < 40; i++) results.push(await run.queues.getResult('default', { timeoutMs: 120_000 }));
        for (const result of results) {
          assert.equal(result.success, true, result.failureInfo?.message);
          assert.deepEqual(String(result.value).trim().split('\n').sort(), [...(result.workerInfo!.hosts as string[])].sort(), 'ran where placed');
          assert.equal((result.workerInfo!.hosts as string[]).length, result.resources.nodeCount);
        }
        assert.ok(peakNodes(results) <= 3, `peak ${peakNodes(results)} nodes`);
      } finally {
        await run.close();
      }
    });
  }

  for (const ending of ['timeout', 'cancel'] as const) {
    it(`${ending} of a 2-node srun step leaves no process behind and the step ended`, async () => {
      const run = await serve();
      const seconds = `${ending === 'timeout' ? 811 : 812}.${process.pid % 1000}`;
      try {
        const taskId = await run.queues.sendInputs('sleep', [seconds], { resources: { nodeCount: 2 }, ...(ending === 'timeout' ? { timeoutMs: 3000 } : {}) });
        let steps = '';
        const started = Date.now();
        while (Date.now() - started < 20_000) {
          steps = await cluster.command('squeue', ['-h', '-s', '-j', jobId, '-o', '%i %N']);
          if ((await processesMatching(`sleep ${seconds}`)).length >= 2 && steps.trim()) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.match(steps, new RegExp(`${jobId}\\.\\d+`), 'the step is running');
        if (ending === 'cancel') await run.queues.cancel(taskId);
        const result = await run.queues.getResult('default', { timeoutMs: 30_000 });
        assert.equal(result.success, false);
        const deadline = Date.now() + 20_000;
        let left: string[] = [];
        do {
          left = await processesMatching(`sleep ${seconds}`);
          steps = (await cluster.command('squeue', ['-h', '-s', '-j', jobId, '-o', '%i'])).trim();
          if (left.length === 0 && !/\.\d+/.test(steps)) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        } while (Date.now() < deadline);
        assert.deepEqual(left, [], 'no rank left');
        assert.doesNotMatch(steps, /\.\d+/, 'squeue shows no step left');
      } finally {
        await run.close();
      }
    });
  }
});
