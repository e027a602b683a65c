import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SlurmProvider } from '../../src/task-server/providers/slurm.js';
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

  it('keeps minBlocks even with no demand', async () => {
    const provider = new SlurmProvider({ command: ['sleep', '600'], demand: () => 0, minBlocks: 1, maxBlocks: 2, pollMs: 200, env: cluster.env }).start();
    try {
      await untilAsync(async () => (await running()).length === 1, 'one job');
    } finally {
      await provider.close();
    }
    await untilAsync(async () => (await anyJobs()).length === 0, 'close cancels it');
  });

  it('refuses bad options, naming them', () => {
    assert.throws(() => new SlurmProvider({ command: [], demand: () => 0 }), /needs `command`/);
    assert.throws(() => new SlurmProvider({ command: ['x'], demand: () => 0, minBlocks: 2, maxBlocks: 1 }), /minBlocks ≤ maxBlocks/);
  });
});
