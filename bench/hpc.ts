/**
 * `npm run bench -- hpc [--tasks N] [--seconds S] [--backfill]`: on the real 3-node Slurm test
 * cluster, a mixed-size (1–3 nodes) ensemble of `srun sleep S` tasks with the queue kept full.
 *
 * (1) Placement overhead per task: ms from the nodes a task waits for being freed (the placer's
 * `release`, which comes once the previous launch's processes are swept) to its launcher existing:
 * `spawn()` of `srun` returned (the process has exec'd srun; Node emits `spawn` for it on the next
 * tick, reported too as `…_to_spawn_event_…`). p50 and p99; beside them the raw limit, `spawn()`'s
 * own ms measured on the same launches (and a bare `srun --version` spawn before the run),
 * colmena's own share (grant → spawn() called), and the stricter turnaround from the previous
 * holder's launcher exit (which adds the group kill and the sweep).
 * (2) Node utilization: node-seconds of work (`sleep S` on each node of each task) ÷ node-seconds
 * allocated (3 × wall time), placed by colmena, beside the same ensemble started by hand as one
 * `srun` per task all at once with no placement, and beside the raw limit: full-allocation `srun`
 * steps back to back (no scheduler at all, only srun's own step start-up and teardown).
 */
import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
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

/** ms from `spawn()` to the `spawn` event of a launcher that exits at once, sorted. */
async function bareSpawns(count: number): Promise<number[]> {
  const out = openSync('/dev/null', 'w');
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const child = spawn('srun', ['--version'], { detached: true, stdio: ['ignore', out, out], env: { ...process.env } });
      await new Promise((resolve) => child.once('spawn', resolve));
      times.push(performance.now() - started);
      await new Promise((resolve) => child.once('exit', resolve));
    }
  } finally {
    closeSync(out);
  }
  return times.sort((a, b) => a - b);
}

interface Overheads {
  /** release of the nodes → the next holder's launcher spawned */
  freedToLaunch: number[];
  /** the same, for only the first task each release lets in (the others wait for its spawn) */
  firstFreedToLaunch: number[];
  /** release → the launcher's `spawn` event delivered (a tick later, after the microtasks in hand) */
  freedToSpawnEvent: number[];
  /** of freedToLaunch, the part spent inside `spawn()` (fork and exec: the raw limit, this run) */
  spawnInRun: number[];
  /** grant → `spawn()` called: colmena's own work between (run directory, template, environment) */
  grantToSpawnCall: number[];
  /** the previous holder's launcher exited → the next holder's launcher spawned */
  exitToLaunch: number[];
  /** launcher exited → nodes released (group kill and sweep) */
  exitToRelease: number[];
}

/**
 * For every grant made by a release (the grants a release lets in follow it at once in the event
 * stream), pair it with that task's launch and the releasing task's exit.
 */
function overheadsOf(events: PlacementEvent[]): Overheads {
  const launchAt = new Map<number, number>();
  const spawnMs = new Map<number, number>();
  const spawnEventAt = new Map<number, number>();
  const exitAt = new Map<number, number>();
  for (const event of events) {
    if (event.kind === 'launch') {
      launchAt.set(event.id, event.at);
      spawnMs.set(event.id, event.spawnMs);
      spawnEventAt.set(event.id, event.spawnEventAt);
    }
    if (event.kind === 'exit') exitAt.set(event.id, event.at);
  }
  const result: Overheads = { freedToLaunch: [], firstFreedToLaunch: [], spawnInRun: [], freedToSpawnEvent: [], grantToSpawnCall: [], exitToLaunch: [], exitToRelease: [] };
  for (const [index, event] of events.entries()) {
    if (event.kind === 'release' && exitAt.has(event.id)) result.exitToRelease.push(event.at - exitAt.get(event.id)!);
    if (event.kind !== 'grant') continue;
    let before = index - 1;
    while (events[before]?.kind === 'grant') before--;
    const freeing = events[before];
    // Granted on request (nodes were idle, at the start): there is no freeing moment.
    if (freeing?.kind !== 'release') continue;
    const launched = launchAt.get(event.id);
    if (launched === undefined) throw new Error(`task ${event.id} was granted nodes but its launcher never started`);
    result.freedToLaunch.push(launched - freeing.at);
    if (before === index - 1) result.firstFreedToLaunch.push(launched - freeing.at);
    result.spawnInRun.push(spawnMs.get(event.id)!);
    result.freedToSpawnEvent.push(spawnEventAt.get(event.id)! - freeing.at);
    if (before === index - 1) result.grantToSpawnCall.push(launched - spawnMs.get(event.id)! - event.at);
    const exited = exitAt.get(freeing.id);
    if (exited !== undefined) result.exitToLaunch.push(launched - exited);
  }
  for (const list of Object.values(result) as number[][]) list.sort((a, b) => a - b);
  return result;
}

export async function main(argv: string[]): Promise<void> {
  const quick = flag(argv, 'quick');
  const backfill = flag(argv, 'backfill');
  const tasks = option(argv, 'tasks', quick ? 9 : 24);
  const seconds = option(argv, 'seconds', 2);
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
    const spawnLimit = await bareSpawns(21);

    // With placement: the allocation executor keeps the queue full.
    const executor = new AllocationExecutor('nodes', { allocation: await allocationFromSlurm(process.env, { coresPerNode: 4 }), backfill });
    const events: PlacementEvent[] = [];
    executor.placer.onEvent = (event) => events.push(event);
    const methods = { sleep: moduleMethod(new URL('./hpc-fixtures/srun-sleep.ts', import.meta.url), 'srunSleep', { executor: 'nodes' }) };
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
    const overheads = overheadsOf(events);
    // Node-seconds the placer held nodes for (grant → release), to show where the rest went.
    const heldNodeSeconds = results.reduce((sum, r) => {
      const { placed_at: from, released_at: to, hosts } = r.workerInfo as unknown as { placed_at: number; released_at: number; hosts: string[] };
      return sum + (to - from) * hosts.length;
    }, 0);

    // By hand: one srun per task, all started at once; Slurm queues the steps itself.
    const handStarted = Date.now();
    await Promise.all(
      sizes.map((nodeCount) =>
        run('srun', [`--jobid=${jobId}`, `--nodes=${nodeCount}`, `--ntasks=${nodeCount}`, '--exclusive', 'sleep', String(seconds)], { env: { ...process.env } }),
      ),
    );
    const handWall = (Date.now() - handStarted) / 1000;

    // Raw limit: the same node-seconds as full-allocation steps one after another.
    const steps = Math.max(1, Math.round(workNodeSeconds / (NODES * seconds) / 2));
    const limitStarted = Date.now();
    for (let i = 0; i < steps; i++) {
      await run('srun', [`--jobid=${jobId}`, `--nodes=${NODES}`, `--ntasks=${NODES}`, '--exclusive', 'sleep', String(seconds)], { env: { ...process.env } });
    }
    const limitWall = (Date.now() - limitStarted) / 1000;

    report({
      bench: 'hpc',
      nodes: NODES,
      tasks,
      task_seconds: seconds,
      policy: backfill ? 'backfill' : 'fifo',
      placement_overhead_ms_p50: round(percentile(overheads.freedToLaunch, 50)),
      placement_overhead_ms_p99: round(percentile(overheads.freedToLaunch, 99)),
      placement_overhead_target_p50_ms: 5,
      placement_overhead_to_spawn_event_ms_p50: round(percentile(overheads.freedToSpawnEvent, 50)),
      placement_overhead_first_ms_p50: round(percentile(overheads.firstFreedToLaunch, 50)),
      placement_first_grant_to_spawn_call_ms_p50: round(percentile(overheads.grantToSpawnCall, 50)),
      launcher_spawn_in_run_ms_p50: round(percentile(overheads.spawnInRun, 50)),
      launcher_bare_spawn_ms_p50: round(percentile(spawnLimit, 50)),
      launcher_exit_to_next_launch_ms_p50: round(percentile(overheads.exitToLaunch, 50)),
      launcher_exit_to_release_ms_p50: round(percentile(overheads.exitToRelease, 50)),
      placements_measured: overheads.freedToLaunch.length,
      utilization_placed: round(workNodeSeconds / (NODES * placedWall)),
      utilization_srun_by_hand: round(workNodeSeconds / (NODES * handWall)),
      utilization_limit_back_to_back_steps: round((steps * seconds) / limitWall),
      utilization_target: 0.9,
      nodes_held_fraction: round(heldNodeSeconds / (NODES * placedWall)),
      ideal_wall_s: round(workNodeSeconds / NODES),
      placed_wall_s: round(placedWall),
      by_hand_wall_s: round(handWall),
    });
  } finally {
    if (jobId) await cluster.command('scancel', [jobId]).catch(() => '');
    await cluster.stop();
  }
}
