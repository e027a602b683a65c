/**
 * `npm run bench -- hpc [--tasks N] [--seconds S]`: on the real 3-node Slurm test cluster,
 * (1) placement overhead per task: ms from the nodes a task waits for being freed to its launcher
 * having started (p50, p99), and (2) node utilization of a mixed-size (1–3 nodes) ensemble of
 * `srun sleep S` tasks with the queue kept full (node-seconds of work ÷ node-seconds allocated),
 * beside the same ensemble started by hand as one `srun` per task, all at once, with no placement.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { moduleMethod } from '../src/methods/spec.js';
import type { Result } from '../src/models/result.js';
import { LocalQueues } from '../src/queue/local.js';
import { allocationFromSlurm } from '../src/task-server/executors/allocation/allocation.js';
import { AllocationExecutor } from '../src/task-server/executors/allocation/executor.js';
import type { PlacementEvent } from '../src/task-server/executors/allocation/placement.js';
import { LocalTaskServer } from '../src/task-server/local.js';
import { startSlurmCluster } from '../test/helpers/slurm-cluster.js';
import { flag, option, percentile, report, round } from './lib.js';

const run = promisify(execFile);
const NODES = 3;

export async function main(argv: string[]): Promise<void> {
  const quick = flag(argv, 'quick');
  const tasks = option(argv, '--tasks', quick ? 9 : 24);
  const seconds = option(argv, '--seconds', 2);
  const sizes = Array.from({ length: tasks }, (_, i) => ((i * 7 + 3) % NODES) + 1);
  const workNodeSeconds = sizes.reduce((sum, size) => sum + size * seconds, 0);
  const cluster = await startSlurmCluster({ nodes: NODES });
  let jobId = '';
  try {
    const { stderr } = await run('salloc', [`-N${NODES}`, '--no-shell'], { env: cluster.env });
    jobId = /Granted job allocation (\d+)/.exec(stderr)?.[1] ?? '';
    if (!jobId) throw new Error(`salloc granted no job: ${stderr}`);
    const nodelist = (await cluster.command('squeue', ['-h', '-j', jobId, '-o', '%N'])).trim();
    Object.assign(process.env, { SLURM_CONF: cluster.env.SLURM_CONF, SLURM_JOB_ID: jobId, SLURM_JOB_NODELIST: nodelist });

    // With placement: the allocation executor keeps the queue full.
    const executor = new AllocationExecutor('nodes', { allocation: await allocationFromSlurm(process.env, { coresPerNode: 4 }) });
    const events: PlacementEvent[] = [];
    executor.placer.onEvent = (event) => events.push(event);
    const methods = { sleep: moduleMethod(new URL('./hpc-fixtures/stamped-srun.ts', import.meta.url), 'stampedSleep', { executor: 'nodes' }) };
    const queues = new LocalQueues();
    const server = new LocalTaskServer(queues, { methods, executors: { nodes: executor } }).start();
    const started = Date.now();
    for (const nodeCount of sizes) await queues.sendInputs('sleep', [String(seconds)], { resources: { nodeCount } });
    const results: Result[] = [];
    for (let i = 0; i < tasks; i++) results.push(await queues.getResult('default', { timeoutMs: 600_000 }));
    const placedWall = (Date.now() - started) / 1000;
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
    const failed = results.filter((r) => !r.success);
    if (failed.length > 0) throw new Error(`${failed.length} tasks failed: ${failed[0]!.failureInfo?.message}`);

    // Overhead: for each task that waited, from the release that let it in to its launcher start.
    const epoch = (at: number): number => performance.timeOrigin + at;
    const grantOf = new Map<number, number>();
    const releases: number[] = [];
    for (const event of events) {
      if (event.kind === 'grant') grantOf.set(event.id, epoch(event.at));
      if (event.kind === 'release') releases.push(epoch(event.at));
    }
    // Launchers start in grant order (each spawn costs about the same), so the i-th grant pairs
    // with the i-th launcher start.
    const launchStarts = results.map((r) => r.value as number).sort((a, b) => a - b);
    const grants = [...grantOf.values()].sort((a, b) => a - b);
    const overheads: number[] = [];
    for (const [index, granted] of grants.entries()) {
      // The freeing moment: the last release at or before the grant (or the request, if none).
      const freed = releases.filter((at) => at <= granted).at(-1);
      if (freed === undefined) continue;
      const launched = launchStarts[index]!;
      overheads.push(launched - freed);
    }
    overheads.sort((a, b) => a - b);

    // By hand: one srun per task, all started at once; Slurm queues the steps itself.
    const handStarted = Date.now();
    await Promise.all(
      sizes.map((nodeCount) =>
        run('srun', [`--jobid=${jobId}`, `--nodes=${nodeCount}`, `--ntasks=${nodeCount}`, '--exclusive', 'sleep', String(seconds)], { env: { ...process.env } }),
      ),
    );
    const handWall = (Date.now() - handStarted) / 1000;

    report({
      bench: 'hpc',
      nodes: NODES,
      tasks,
      task_seconds: seconds,
      placement_overhead_ms_p50: round(percentile(overheads, 50)),
      placement_overhead_ms_p99: round(percentile(overheads, 99)),
      placement_overhead_target_p50_ms: 5,
      utilization_placed: round(workNodeSeconds / (NODES * placedWall)),
      utilization_srun_by_hand: round(workNodeSeconds / (NODES * handWall)),
      utilization_target: 0.9,
      ideal_wall_s: round(workNodeSeconds / NODES),
      placed_wall_s: round(placedWall),
      by_hand_wall_s: round(handWall),
    });
  } finally {
    if (jobId) await cluster.command('scancel', [jobId]).catch(() => '');
    await cluster.stop();
  }
}

