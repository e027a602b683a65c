import { SingleBar } from 'cli-progress';
import { relative } from 'node:path';
import { moduleMethod } from '../methods/spec.js';
import { defaultRunLogPath, RunLog } from '../monitor/run-log.js';
import { LocalQueues } from '../queue/local.js';
import { LocalTaskServer } from '../task-server/local.js';
import { siblingModule } from '../util/sibling.js';
import type * as objective from './demo-objective.js';
import { HARTMANN6_MINIMUM } from './demo-objective.js';

export interface DemoOptions {
  /** Simulations to run. */
  tasks: number;
  /** Worker threads. */
  threads: number;
  /** Mean cost of one simulation in milliseconds. */
  workMs: number;
  /** Seed of the random choices. */
  seed: number;
  /** Show a progress bar on stderr. */
  progress: boolean;
  /** Where to write the run log; `false` for none. @default `runs/<time>/run.jsonl` */
  runLog?: string | boolean;
}

export interface DemoSummary {
  tasks: number;
  failed: number;
  best: number;
  bestPoint: number[];
  seconds: number;
  utilization: number;
  medianOverheadMs: number;
  /** The run log written, if any. */
  runLog: string | null;
}

/** A small seeded generator (mulberry32): the same seed gives the same campaign. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A steering campaign on the embedded defaults: keep every worker busy with simulations, choosing
 * each new point from what has come back so far (half explore at random, half refine around the
 * best point), and report the best design found.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const random = seededRandom(options.seed);
  const methods = { simulate: moduleMethod<typeof objective.simulate>(siblingModule(import.meta.url, 'demo-objective'), 'simulate') };
  const queues = new LocalQueues<{ simulate: typeof objective.simulate }>();
  const server = new LocalTaskServer(queues, { methods, threads: options.threads });
  const logPath = options.runLog === false ? null : typeof options.runLog === 'string' ? options.runLog : defaultRunLogPath();
  const { tasks, threads, workMs, seed } = options;
  const runLog = logPath === null ? null : await RunLog.open(logPath, { meta: { campaign: 'demo', tasks, threads, workMs, seed } });
  runLog?.attachQueues(queues).attachTaskServer(server, { workers: options.threads });
  server.start();
  const bar = options.progress ? new SingleBar({ format: 'simulations {bar} {value}/{total} | best {best}', hideCursor: true }) : null;
  bar?.start(options.tasks, 0, { best: '-' });

  let best = Infinity;
  let bestPoint: number[] = [];
  let failed = 0;
  let busySeconds = 0;
  const overheadsMs: number[] = [];
  const started = performance.now();

  const nextPoint = (): number[] => {
    if (bestPoint.length === 0 || random() < 0.5) return Array.from({ length: 6 }, () => random());
    return bestPoint.map((v) => Math.min(1, Math.max(0, v + (random() - 0.5) * 0.2)));
  };
  const submit = () => queues.sendInputs('simulate', [nextPoint(), options.workMs * (0.5 + random())]);

  let sent = 0;
  for (; sent < Math.min(options.threads * 2, options.tasks); sent++) await submit();
  for (let done = 0; done < options.tasks; done++) {
    const result = await queues.getResult();
    busySeconds += result.time.running;
    // Time in transit: thinker to task server, and worker back to thinker (queueing excluded).
    const t = result.timestamp;
    overheadsMs.push((t.inputReceived - t.created + (t.resultReceived - t.computeEnded)) * 1000);
    if (result.success && result.value !== undefined && result.value < best) {
      best = result.value;
      bestPoint = result.args[0] as number[];
      runLog?.recordValue('best', best);
    } else if (!result.success) failed++;
    if (sent < options.tasks) {
      await submit();
      sent++;
    }
    bar?.update(done + 1, { best: best.toFixed(4) });
  }
  bar?.stop();
  const seconds = (performance.now() - started) / 1000;
  await queues.sendKillSignal();
  await server.join();
  await queues.close();
  await runLog?.close();
  overheadsMs.sort((a, b) => a - b);
  return {
    tasks: options.tasks,
    failed,
    best,
    bestPoint,
    seconds,
    utilization: busySeconds / (seconds * options.threads),
    medianOverheadMs: overheadsMs[Math.floor(overheadsMs.length / 2)] ?? NaN,
    runLog: runLog === null ? null : shortPath(runLog.path),
  };
}

export function describeDemo(summary: DemoSummary): string {
  return [
    `Ran ${summary.tasks} simulations (${summary.failed} failed) in ${summary.seconds.toFixed(1)} s.`,
    `Best value ${summary.best.toFixed(5)} (known minimum ${HARTMANN6_MINIMUM}) at [${summary.bestPoint.map((v) => v.toFixed(3)).join(', ')}].`,
    `Worker utilization ${(summary.utilization * 100).toFixed(1)} %, median transit overhead per task ${summary.medianOverheadMs.toFixed(3)} ms.`,
    ...(summary.runLog === null ? [] : [`Run log ${summary.runLog}; see what the campaign did with: npx colmena report ${summary.runLog}`]),
  ].join('\n');
}

/** Relative to the working folder when under it, so the command shown is short. */
function shortPath(path: string): string {
  const relativePath = relative(process.cwd(), path);
  return relativePath.startsWith('..') ? path : relativePath;
}
