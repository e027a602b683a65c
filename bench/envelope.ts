/**
 * `npm run bench -- envelope`: a port of Colmena's "task-limits" study (examples/task-limits).
 * N workers run tasks that sleep about d seconds (1 % spread), read an input of s MiB and return a
 * fresh output of s MiB, through the Redis queues and a Redis object store. The task server runs
 * in a process of its own; a worker is one of N numbered slots on its event loop, each running one
 * task at a time (the task only waits, so one thread keeps all N going), or with `--worker-kind
 * threads` one of N worker threads. The thinker keeps two tasks in
 * flight per worker (one running, one waiting at the task server) so that every worker stays
 * busy; `--in-flight 16` reproduces the one-per-worker window of Colmena's study. Per-worker
 * utilization = time running ÷ (its last task's end − its first task's end), averaged over
 * workers, as Colmena's notebook computes it.
 *
 * Each cell also reports what bounds it, measured in the same run:
 * - `cpu_busy`: CPU seconds of thinker, task server and redis-server ÷ (wall × CPUs), and
 *   `machine_cpu_busy`, the share of all CPUs busy with anything (other users included) over the
 *   cell's whole run, start-up included;
 * - `needed_mib_per_s`: payload that must cross the store for every worker to stay busy
 *   (N ÷ d tasks per second × s MiB in and s out); `bare_mib_per_s`: what this machine moves
 *   through the same redis-server with plain SET and GET (s MiB in and out per "task", 4
 *   connections at once), the copy-bandwidth ceiling;
 * - `cpu_ceiling` and `copy_ceiling`: the utilization each would allow if it were the only limit
 *   (all CPUs ÷ the CPU time per task measured here; bare bandwidth ÷ needed bandwidth);
 * - `gap_ms`: the median time a worker waits between tasks.
 * A cell under its target is marked `bound`: the resource whose ceiling is under the target, else
 * `cpu` when the CPUs were ≥ 85 % busy anyway (contention, ours or anyone's), else `latency` (the
 * per-task gap).
 *
 * Options: --workers N (16); --durations 0.01,0.1,1 and --sizes 0.1,1,10 (MiB), or --cells
 * 0.1x0.01,1x1 (size × duration pairs); --tasks-per-worker N (at least 8, and enough for 2 s of
 * work within 100 MiB of input per worker; quick: 4, 0.5 s, 25 MiB); --in-flight N (default 2 × workers); --worker-kind slots|threads (what
 * a worker is, see examples/task-limits/server.ts; slots); --threshold-kb N (values from this
 * size go through the store; 64); --quick (three cells, under two minutes). Starts its own
 * redis-server unless REDIS_URL is set.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { runTaskLimits, type TaskLimitsOutcome } from '../examples/task-limits/run.js';
import type { WorkerKind } from '../examples/task-limits/server.js';
import { flag, listOption, machineBusy, machineCpuTicks, machineLoad, numberListOption, option, printTable, RespSocket, report, round } from './lib.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

const MIB = 1024 * 1024;

/** Python Colmena's published envelope: 16 workers on one workstation (utilization by size, then duration). */
const ANCHOR: Record<string, Record<string, number>> = {
  '0.1': { '0.01': 0.22, '0.1': 0.78, '1': 0.97 },
  '1': { '0.01': 0.08, '0.1': 0.63, '1': 0.96 },
  '10': { '0.01': 0.04, '0.1': 0.08, '1': 0.64 },
};

/** Issue 9's targets: ≥ 90 % wherever d ≥ 0.1 s, ≥ 60 % at 0.01 s with 0.1 MiB. */
function targetOf(mb: number, seconds: number): number | null {
  if (seconds >= 0.1) return 0.9;
  if (seconds === 0.01 && mb === 0.1) return 0.6;
  return null;
}

/**
 * MiB per second of payload this machine moves through redis-server with bare SET and GET over
 * plain sockets (no client library): each "task" SETs s MiB, GETs it, SETs s MiB, GETs it, as a
 * store-backed task does; `clients` at once.
 */
async function bareStoreMibPerS(url: string, mb: number, clients: number, seconds: number): Promise<number> {
  const payload = Buffer.alloc(Math.round(mb * MIB), 7);
  const prefix = `bench-bare-${randomUUID()}`;
  const sockets = await Promise.all(Array.from({ length: clients }, () => RespSocket.open(url)));
  let tasks = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    sockets.map(async (socket, i) => {
      while (performance.now() < deadline) {
        await socket.set(`${prefix}-${i}-in`, payload);
        const input = await socket.get(`${prefix}-${i}-in`);
        await socket.set(`${prefix}-${i}-out`, input);
        await socket.get(`${prefix}-${i}-out`);
        tasks++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await sockets[0]!.del(...sockets.flatMap((_, i) => [`${prefix}-${i}-in`, `${prefix}-${i}-out`]));
  for (const socket of sockets) socket.close();
  return (tasks * 2 * mb) / elapsed;
}

interface Cell {
  mb: number;
  seconds: number;
}

const pct = (value: number): string => (value >= 10 ? '>999 %' : `${Math.round(value * 100)} %`);

function cellsFrom(argv: readonly string[], quick: boolean): Cell[] {
  if (argv.includes('--cells')) {
    return listOption(argv, 'cells', []).map((pair) => {
      const [mb, seconds] = pair.split('x').map(Number);
      if (!Number.isFinite(mb) || !Number.isFinite(seconds)) throw new Error(`--cells: '${pair}' is not <MiB>x<seconds>, e.g. 1x0.1`);
      return { mb: mb!, seconds: seconds! };
    });
  }
  if (quick && !argv.includes('--sizes') && !argv.includes('--durations')) {
    return [
      { mb: 0.1, seconds: 0.01 },
      { mb: 1, seconds: 0.1 },
      { mb: 10, seconds: 1 },
    ];
  }
  const sizes = numberListOption(argv, 'sizes', [0.1, 1, 10]);
  const durations = numberListOption(argv, 'durations', [0.01, 0.1, 1]);
  return sizes.flatMap((mb) => durations.map((seconds) => ({ mb, seconds })));
}

/**
 * What held a cell under its target: the resource whose ceiling is under the target (the lower
 * one if both are), else CPUs that were nearly all busy anyway (contention), else the per-task
 * latency.
 */
function boundOf(outcome: TaskLimitsOutcome, target: number | null, ceilings: { cpu: number; copy: number }, machineBusy: number): string | null {
  if (target === null || outcome.utilization >= target) return null;
  if (Math.min(ceilings.cpu, ceilings.copy) < target) return ceilings.copy < ceilings.cpu ? 'copy bandwidth' : 'cpu';
  if (machineBusy >= 0.85) return 'cpu';
  return 'latency';
}

export async function main(argv: string[]): Promise<void> {
  const quick = flag(argv, 'quick');
  const workers = option(argv, 'workers', 16);
  const perWorker = option(argv, 'tasks-per-worker', quick ? 4 : 8);
  // Two per worker: one running, one waiting at the task server, so no worker idles while its
  // result travels back and its next task travels out. (Colmena's study kept one per worker:
  // --in-flight 16.)
  const inFlight = option(argv, 'in-flight', 2 * workers);
  const thresholdBytes = option(argv, 'threshold-kb', 64) * 1024;
  const workerKind = listOption(argv, 'worker-kind', ['slots'])[0] as WorkerKind;
  if (workerKind !== 'threads' && workerKind !== 'slots') throw new Error(`--worker-kind must be threads or slots, got '${workerKind}'`);
  const cells = cellsFrom(argv, quick);
  const cpus = availableParallelism();
  const ownServer = process.env.REDIS_URL ? null : await startRedisServer();
  const url = process.env.REDIS_URL ?? ownServer!.url;
  const lines: Record<string, unknown>[] = [];
  const rows: Record<string, unknown>[] = [];
  try {
    const bare = new Map<number, number>();
    for (const { mb } of cells) if (!bare.has(mb)) bare.set(mb, await bareStoreMibPerS(url, mb, 4, quick ? 0.5 : 1));
    for (const { mb, seconds } of cells) {
      const { load1 } = await machineLoad();
      // Enough tasks for the run to last a while at full speed (short tasks need many), but no
      // more payload per worker than a fixed budget (large ones are slow to move anyway).
      const perWorkerHere = Math.max(perWorker, Math.min(Math.ceil((quick ? 0.5 : 2) / seconds), Math.ceil((quick ? 25 : 100) / mb)));
      const tasks = workers * perWorkerHere;
      const ticksBefore = machineCpuTicks();
      const outcome = await runTaskLimits({ workers, seconds, mb, tasks, inFlight, thresholdBytes, workerKind, redisUrl: url });
      // The whole run, start-up included: a rough share of what other processes took meanwhile.
      const machine = machineBusy(ticksBefore, machineCpuTicks());
      const cpu = outcome.cpuSeconds;
      const cpuMsPerTask = ((cpu.thinker + cpu.server + cpu.redis) * 1000) / outcome.tasks;
      const cpuBusy = (cpu.thinker + cpu.server + cpu.redis) / (outcome.wallSeconds * cpus);
      const neededMibPerS = (workers / seconds) * 2 * mb;
      const bareMibPerS = bare.get(mb)!;
      // Utilization each resource would allow if it were the only limit: the bare store bandwidth
      // over what full utilization needs; all CPUs over what full utilization needs at the CPU
      // cost per task measured here.
      const copyCeiling = bareMibPerS / neededMibPerS;
      const cpuCeiling = (cpus * 1000) / cpuMsPerTask / (workers / seconds);
      const target = targetOf(mb, seconds);
      const bound = boundOf(outcome, target, { cpu: cpuCeiling, copy: copyCeiling }, Math.max(cpuBusy, machine));
      const anchor = ANCHOR[String(mb)]?.[String(seconds)] ?? null;
      const line: Record<string, unknown> = {
        bench: 'envelope',
        mb,
        seconds,
        utilization: round(outcome.utilization),
        workers,
        worker_kind: workerKind,
        in_flight: inFlight,
        tasks: outcome.tasks,
        succeeded: outcome.succeeded,
        gap_ms: round(outcome.medianGapMs, 1),
        cpu_busy: round(cpuBusy, 2),
        machine_cpu_busy: round(machine, 2),
        cpu_ms_per_task: round(cpuMsPerTask, 2),
        tasks_per_s: round(outcome.tasks / outcome.wallSeconds, 1),
        needed_mib_per_s: round(neededMibPerS, 1),
        bare_mib_per_s: round(bareMibPerS, 1),
        cpu_ceiling: round(cpuCeiling, 2),
        copy_ceiling: round(copyCeiling, 2),
        anchor,
        target,
        meets_target: target === null ? null : outcome.utilization >= target,
        bound,
        load1,
      };
      lines.push(line);
      const legs = outcome.legsMs;
      rows.push({
        MiB: mb,
        d_s: seconds,
        util: `${(outcome.utilization * 100).toFixed(1)} %`,
        python: anchor === null ? '' : `${Math.round(anchor * 100)} %`,
        target: target === null ? '' : `${target * 100} %`,
        bound: bound ?? '',
        gap_ms: round(outcome.medianGapMs, 1),
        'legs_ms(out/start/back/return)': [legs.toServer, legs.toWorker, legs.fromWorker, legs.toThinker].map((v) => v.toFixed(1)).join('/'),
        'cpu(all)': `${Math.round(cpuBusy * 100)} %(${Math.round(machine * 100)} %)`,
        'cpu_ms/task(thinker/server/redis)': [cpu.thinker, cpu.server, cpu.redis].map((v) => ((v * 1000) / outcome.tasks).toFixed(2)).join('/'),
        'tasks/s(need)': `${Math.round(outcome.tasks / outcome.wallSeconds)}(${Math.round(workers / seconds)})`,
        'need/bare_MiB/s': `${Math.round(neededMibPerS)}/${Math.round(bareMibPerS)}`,
        'ceiling(cpu/copy)': `${pct(cpuCeiling)}/${pct(copyCeiling)}`,
        ok: `${outcome.succeeded}/${outcome.tasks}`,
        load: load1,
      });
    }
  } finally {
    await ownServer?.stop();
  }
  const kind = workerKind === 'threads' ? 'worker threads' : "slots on the task server's loop";
  console.log(`# envelope: ${workers} workers (${kind}, task server in a process of its own), ${inFlight} tasks in flight, ${cpus} CPUs`);
  console.log('# legs: thinker → server / server → method start / method end → server / server → thinker (median ms)');
  printTable(rows);
  for (const line of lines) report(line);
}
