/**
 * A thinker steering MPI simulations of mixed node counts on a Slurm allocation, with a model
 * task on a GPU-tagged pool. Inside a Slurm job it uses the job's nodes; elsewhere it starts the
 * 3-node test cluster (test/helpers/slurm-cluster.ts, needs root, slurm-wlm and munge).
 *
 *   npx tsx examples/hpc-ensemble/run.ts [--simulations 12]
 */
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import {
  agent, allocationFromList, allocationFromSlurm, AllocationExecutor, BaseThinker, LocalQueues, LocalTaskServer, moduleMethod,
} from '../../src/index.js';
import type { simulate, train } from './methods.js';

type Methods = { simulate: NonNullable<(typeof simulate)['signature']>; train: NonNullable<(typeof train)['signature']> };
const METHODS = new URL('./methods.ts', import.meta.url);

class Ensemble extends BaseThinker<Methods> {
  readonly budget: number;
  readonly best = { x: 0, score: -Infinity };
  readonly log: string[] = [];

  constructor(queues: ConstructorParameters<typeof BaseThinker<Methods>>[0], budget: number) {
    super(queues);
    this.budget = budget;
  }

  @agent()
  async steer(): Promise<void> {
    let sent = 0;
    let received = 0;
    // Keep the allocation busy: three simulations in flight, each 1–3 nodes.
    const send = async (): Promise<void> => {
      const x = this.best.score === -Infinity ? sent * 9 : this.best.x + ((sent % 5) - 2) * 3;
      await this.queues.sendInputs('simulate', [x], { topic: 'simulate', resources: { nodeCount: (sent % 3) + 1 }, taskInfo: { x } });
      sent++;
    };
    while (sent < Math.min(3, this.budget)) await send();
    while (received < this.budget) {
      const result = await this.queues.getResult('simulate');
      received++;
      if (result.method !== 'simulate' || !result.success) throw new Error(`simulation failed: ${result.failureInfo?.message}`);
      const x = result.taskInfo.x as number;
      this.log.push(`x=${x} score=${result.value!.score} on ${result.value!.nodes.join(',')} (${result.resources.nodeCount} node(s))`);
      if (result.value!.score > this.best.score) Object.assign(this.best, { x, score: result.value!.score });
      if (received % 4 === 0) {
        await this.queues.sendInputs('train', [received], { topic: 'train', resources: { gpusPerRank: 1 } });
        const trained = await this.queues.getResult('train');
        this.log.push(String(trained.value).trim());
      }
      if (sent < this.budget) await send();
    }
  }
}

async function slurmEnvironment(): Promise<{ env: NodeJS.ProcessEnv; stop(): Promise<void> }> {
  if (process.env.SLURM_JOB_NODELIST) return { env: process.env, stop: async () => {} };
  const { startSlurmCluster } = await import('../../test/helpers/slurm-cluster.js');
  const cluster = await startSlurmCluster({ nodes: 3 });
  const { stderr } = await promisify(execFile)('salloc', ['-N3', '--no-shell'], { env: cluster.env });
  const jobId = /Granted job allocation (\d+)/.exec(stderr)?.[1];
  if (!jobId) throw new Error(`salloc granted no job: ${stderr}`);
  const nodelist = (await cluster.command('squeue', ['-h', '-j', jobId, '-o', '%N'])).trim();
  Object.assign(process.env, { SLURM_CONF: cluster.env.SLURM_CONF, SLURM_JOB_ID: jobId, SLURM_JOB_NODELIST: nodelist });
  return { env: process.env, stop: () => cluster.stop() };
}

export async function runEnsemble(simulations: number): Promise<Ensemble> {
  const slurm = await slurmEnvironment();
  try {
    const nodes = new AllocationExecutor('nodes', { allocation: await allocationFromSlurm(slurm.env, { coresPerNode: 4 }) });
    // The GPU pool: declared devices on this host (no GPU needed to run the example).
    const gpus = new AllocationExecutor('gpus', { allocation: allocationFromList(['localhost'], { coresPerNode: 2, gpusPerNode: 2 }), shareNodes: true });
    const methods = {
      simulate: moduleMethod(METHODS, 'simulate', { executor: 'nodes' }),
      train: moduleMethod(METHODS, 'train', { executor: 'gpus' }),
    };
    const queues = new LocalQueues<Methods>({ topics: ['simulate', 'train'] });
    const server = new LocalTaskServer(queues, { methods, executors: { nodes, gpus } }).start();
    const thinker = new Ensemble(queues, simulations);
    try {
      await thinker.run();
    } finally {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    }
    return thinker;
  } finally {
    await slurm.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.COLMENA_LOG_LEVEL ??= 'warn';
  const { values } = parseArgs({ options: { simulations: { type: 'string', default: '12' } } });
  const thinker = await runEnsemble(Number(values.simulations));
  for (const line of thinker.log) console.log(line);
  console.log(`best x=${thinker.best.x} score=${thinker.best.score}`);
}
