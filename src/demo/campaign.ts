/**
 * `colmena demo` (what `npm start` runs): a complete steering campaign on the embedded defaults.
 * In-process queues, a task server with worker threads, and a thinker that searches for the best
 * design of the Hartmann-6 test function with a Gaussian-process surrogate retrained as results
 * arrive. At the end it is compared with random search at the same budget, computed in the same run.
 *
 * The random choices are seeded, so the baseline and the campaign's initial designs are the same
 * from run to run; which results the model has seen when it retrains depends on the order in
 * which tasks finish, so the steered search itself varies a little between runs.
 */
import { relative } from 'node:path';
import { describeWalltime, Walltime } from '../common/deadline.js';
import { readCampaignRecord } from '../monitor/run-log/campaign-record.js';
import { runWithinWalltime } from '../thinker/resume-walltime.js';
import { moduleMethod } from '../methods/spec.js';
import type { Result } from '../models/result.js';
import { workerUtilization } from '../monitor/report/utilization.js';
import { defaultRunLogPath, RunLog, runLogIn } from '../monitor/run-log/run-log.js';
import { LocalQueues } from '../queue/local.js';
import { LocalTaskServer } from '../task-server/local.js';
import type { ResourceChange } from '../thinker/index.js';
import { siblingModule } from '../common/sibling.js';
import type * as objective from './objective.js';
import { randomSearch } from './objective.js';
import { DemoProgress } from './progress.js';
import type * as surrogate from './surrogate.js';
import { type CampaignSettings, type DemoMethods, SteeringThinker } from './thinker.js';
import { InvalidArgumentError } from '../common/errors.js';

export { describeDemo } from './progress.js';

export interface DemoOptions {
  /** Simulations to run. @default 200 */
  budget?: number;
  /** Worker threads, shared by simulation and training. @default 2 */
  workers?: number;
  /** Mean cost of one simulation in milliseconds. @default 50 */
  workMs?: number;
  /** Random designs simulated before the model's first proposals. @default max(10, retrainEvery + 2 × workers) */
  initialDesigns?: number;
  /** Retrain the model once this many new results have come in. @default 5 */
  retrainEvery?: number;
  /** Seed of every random choice. @default 1 */
  seed?: number;
  /** Show a progress bar on stderr. @default false */
  progress?: boolean;
  /** Where to write the run log; `false` for none. @default `runs/<time>/run.jsonl` */
  runLog?: string | boolean;
  /**
   * Carry on the campaign recorded in this run log (or `runs/<time>` folder): its results are
   * taken back without running them again, its simulations in flight are queued again, and the
   * run appends to the same log. Give the same budget, workers and seed as the first run.
   */
  resume?: string;
}

export interface DemoSummary {
  budget: number;
  workers: number;
  seed: number;
  /** Simulations that came back (successful or not). */
  simulations: number;
  failed: number;
  best: number;
  bestPoint: number[];
  /** Best value of random search with the same budget and seed. */
  randomBest: number;
  seconds: number;
  /** Worker utilization (see WORKER_UTILIZATION), in all and by method. */
  utilization: { total: number; simulation: number; training: number };
  /** Median time a task spends in transit (to the worker and back), in milliseconds. */
  medianOverheadMs: number;
  /** Retrainings, with their mean running time in seconds. */
  trainings: { count: number; meanSeconds: number };
  /** Slot moves from simulation to training and back, as the resource counter recorded them. */
  moves: { toTraining: number; toSimulation: number };
  /** The run log written, if any. */
  runLog: string | null;
}

interface Resolved extends CampaignSettings {
  progress: boolean;
  runLog: string | false;
  resume: string | null;
}

function resolveOptions(options: DemoOptions): Resolved {
  const positive = (name: keyof DemoOptions, value: number, allowZero = false): number => {
    if (!Number.isFinite(value) || value < (allowZero ? 0 : 1) || (name !== 'workMs' && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`demo option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} ${name === 'workMs' ? 'number' : 'integer'}, got ${String(value)}`);
    }
    return value;
  };
  const workers = positive('workers', options.workers ?? 2);
  const retrainEvery = positive('retrainEvery', options.retrainEvery ?? 5);
  return {
    budget: positive('budget', options.budget ?? 200),
    workers,
    workMs: positive('workMs', options.workMs ?? 50, true),
    initialDesigns: Math.max(2, positive('initialDesigns', options.initialDesigns ?? Math.max(10, retrainEvery + 2 * workers))),
    retrainEvery,
    seed: positive('seed', options.seed ?? 1, true),
    progress: options.progress ?? false,
    runLog: options.runLog === false ? false : typeof options.runLog === 'string' ? options.runLog : defaultRunLogPath(),
    resume: options.resume === undefined ? null : recordPath(options.resume),
  };
}

/** Run the campaign and the random-search baseline; resolves with what happened. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const settings = resolveOptions(options);
  const { budget, workers, seed } = settings;
  // A resumed run reads its record first and then appends to it, so the next resume sees both.
  const record = settings.resume === null ? null : await readCampaignRecord(settings.resume);
  if (settings.resume !== null) settings.runLog = settings.resume;
  const methods = {
    simulate: moduleMethod<typeof objective.simulate>(siblingModule(import.meta.url, 'objective'), 'simulate'),
    retrain: moduleMethod<typeof surrogate.retrain>(siblingModule(import.meta.url, 'surrogate'), 'retrain'),
  };
  const queues = new LocalQueues<DemoMethods>({ topics: ['simulation', 'training'] });
  const server = new LocalTaskServer(queues, { methods, threads: workers });
  const progress = settings.progress ? new DemoProgress(budget, workers) : null;

  // What the summary needs, gathered as results arrive.
  const busySeconds = { simulate: 0, retrain: 0 };
  const overheadsMs: number[] = [];
  const moves = { toTraining: 0, toSimulation: 0 };
  // The campaign span, as `colmena report` measures it: first task created to last result received.
  const span = { firstCreated: Infinity, lastReceived: -Infinity };
  let lastBest = Infinity;
  let runLog: RunLog | null = null;

  const thinker = new SteeringThinker(queues, settings, (t) => {
    if (t.best !== null && t.best.value !== lastBest) {
      lastBest = t.best.value;
      runLog?.recordValue('best', lastBest);
    }
    progress?.update(t, busySeconds.simulate + busySeconds.retrain);
  });
  const stopListening = queues.events.on('result', (result: Result) => {
    if (result.complete === false) return;
    if (result.method === 'simulate' || result.method === 'retrain') busySeconds[result.method] += result.time.running || 0;
    const t = result.timestamp;
    overheadsMs.push((t.inputReceived - t.created + (t.resultReceived - t.computeEnded)) * 1000);
    if (Number.isFinite(t.created)) span.firstCreated = Math.min(span.firstCreated, t.created);
    if (Number.isFinite(t.resultReceived)) span.lastReceived = Math.max(span.lastReceived, t.resultReceived);
  });
  const onChange = (change: ResourceChange): void => {
    if (change.kind !== 'reallocate') return;
    if (change.from === 'simulation' && change.to === 'training') moves.toTraining += change.slots;
    if (change.from === 'training' && change.to === 'simulation') moves.toSimulation += change.slots;
  };
  const stopWatching = thinker.rec.events.on('change', onChange);

  if (settings.runLog !== false) {
    const { workMs, initialDesigns, retrainEvery } = settings;
    const meta = { campaign: 'demo', objective: 'hartmann6', budget, workers, workMs, initialDesigns, retrainEvery, seed };
    // With inputs and values (`tasks`), so that any run can be carried on with --resume.
    runLog = await RunLog.open(settings.runLog, { meta, tasks: true });
    runLog.attachThinker(thinker).attachTaskServer(server, { workers });
  }

  const started = performance.now();
  server.start();
  // Ctrl-C or the batch system's SIGTERM: stop sending, finish what is running, keep the record.
  const walltime = new Walltime({ signals: ['SIGTERM', 'SIGINT'] });
  try {
    progress?.start();
    if (record !== null) await thinker.resume(record);
    const { outcome, reason } = await runWithinWalltime(thinker, walltime);
    if (outcome === 'walltime' && runLog !== null) {
      process.stderr.write(`demo stopped by ${describeWalltime(reason!)}; carry on with: npm start -- --resume ${shortPath(runLog.path)}\n`);
    }
  } finally {
    walltime.dispose();
    progress?.stop();
    stopListening();
    stopWatching();
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
    await runLog?.close();
  }
  const seconds = span.lastReceived > span.firstCreated ? span.lastReceived - span.firstCreated : (performance.now() - started) / 1000;
  const baseline = randomSearch(budget, seed);
  overheadsMs.sort((a, b) => a - b);
  return {
    budget,
    workers,
    seed,
    simulations: thinker.database.length + thinker.failed,
    failed: thinker.failed,
    best: thinker.best?.value ?? NaN,
    bestPoint: thinker.best?.x ?? [],
    randomBest: baseline.best,
    seconds,
    utilization: {
      total: workerUtilization(busySeconds.simulate + busySeconds.retrain, workers, seconds),
      simulation: workerUtilization(busySeconds.simulate, workers, seconds),
      training: workerUtilization(busySeconds.retrain, workers, seconds),
    },
    medianOverheadMs: overheadsMs[Math.floor(overheadsMs.length / 2)] ?? NaN,
    trainings: {
      count: thinker.trainings.length,
      meanSeconds: thinker.trainings.reduce((sum, t) => sum + t.seconds, 0) / Math.max(1, thinker.trainings.length),
    },
    moves,
    runLog: runLog === null ? null : shortPath(runLog.path),
  };
}

/** A run log given as its file or as its `runs/<time>` folder. */
function recordPath(path: string): string {
  if (typeof path !== 'string' || path.length === 0) throw new RangeError('demo option resume must be the path of a run log or of its folder');
  return runLogIn(path);
}

/** Relative to the working folder when under it, so the command shown is short. */
function shortPath(path: string): string {
  const relativePath = relative(process.cwd(), path);
  return relativePath.startsWith('..') ? path : relativePath;
}
