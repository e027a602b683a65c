/**
 * What the three optimizer demos set up alike: queues with their topics, a task server whose
 * simulations run on `workers` threads while planning tasks (generate, reprioritize) run on a
 * thread of their own, and the outcome they report.
 */
import { LocalQueues, LocalTaskServer, type MethodsOf, moduleMethod, type Result, ThreadsExecutor } from '../../src/index.js';
import type * as optimization from './optimization.js';
import { numericArgs } from './args.js';
import { randomSearch } from './optimization.js';

const url = new URL('./optimization.ts', import.meta.url);
export const methods = {
  simulate: moduleMethod<typeof optimization.simulate>(url, 'simulate'),
  generateTasks: moduleMethod<typeof optimization.generateTasks>(url, 'generateTasks', { executor: 'planner' }),
  reprioritize: moduleMethod<typeof optimization.reprioritize>(url, 'reprioritize', { executor: 'planner' }),
};
export type Methods = MethodsOf<typeof methods>;

export interface OptimizerOptions {
  /** Simulations to run. */
  budget: number;
  /** Threads for simulations. */
  workers: number;
  /** Mean cost of a simulation in milliseconds. */
  workMs: number;
  seed: number;
}

export interface OptimizerOutcome {
  best: number;
  bestPoint: number[];
  /** Best of random search with the same budget and seed. */
  randomBest: number;
  simulations: number;
  seconds: number;
  /**
   * Time the simulation threads spent simulating, over their capacity from the first simulation's
   * start to the last one's end (thread start-up is left out).
   */
  utilization: number;
}

/** Queues and a started task server; `close()` stops both. */
export function startCampaign(topics: string[], workers: number) {
  const queues = new LocalQueues<Methods>({ topics });
  const server = new LocalTaskServer(queues, {
    methods,
    threads: workers,
    executors: { planner: new ThreadsExecutor('planner', { threads: 1 }) },
  }).start();
  return {
    queues,
    async close(): Promise<void> {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    },
  };
}

/** Sum up the simulation results of a campaign that ran for `seconds`. */
export function outcome(simulations: readonly Result[], options: OptimizerOptions, seconds: number): OptimizerOutcome {
  let best = Infinity;
  let bestPoint: number[] = [];
  let busy = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const result of simulations) {
    busy += result.time.running || 0;
    first = Math.min(first, result.timestamp.computeStarted);
    last = Math.max(last, result.timestamp.computeEnded);
    if (result.success && (result.value as number) < best) {
      best = result.value as number;
      bestPoint = result.args[0] as number[];
    }
  }
  return {
    best,
    bestPoint,
    randomBest: randomSearch(options.budget, options.seed),
    simulations: simulations.length,
    seconds,
    utilization: busy / ((last - first) * options.workers),
  };
}

export function describeOutcome(name: string, o: OptimizerOutcome): string {
  return (
    `${name}: best ${o.best.toExponential(3)} at [${o.bestPoint.map((v) => v.toFixed(3)).join(', ')}] after ${o.simulations} simulations ` +
    `(random search: ${o.randomBest.toExponential(3)}); ${o.seconds.toFixed(1)} s, simulation threads busy ${(o.utilization * 100).toFixed(0)} % of the time`
  );
}

/** Read --budget, --workers, --work-ms and --seed from the command line. */
export function optionsFromArgs(): OptimizerOptions {
  const values = numericArgs({ budget: 60, workers: 2, 'work-ms': 50, seed: 1 });
  return { budget: values.budget, workers: values.workers, workMs: values['work-ms'], seed: values.seed };
}
