/** What `colmena demo` shows: a progress bar while it runs (on a terminal), and the final report. */
import { SingleBar } from 'cli-progress';
import { WORKER_UTILIZATION } from '../monitor/report/utilization.js';
import { HARTMANN6_MINIMUM } from './objective.js';
import type { DemoSummary } from './campaign.js';
import type { SteeringThinker } from './thinker.js';

/** A progress bar on stderr: simulations done, best value so far, utilization, and where the slots are. */
export class DemoProgress {
  readonly #bar: SingleBar;
  readonly #budget: number;
  readonly #workers: number;
  #started = 0;

  constructor(budget: number, workers: number) {
    this.#budget = budget;
    this.#workers = workers;
    this.#bar = new SingleBar({
      format: 'simulations {bar} {value}/{total} | best {best} | utilization {utilization} | slots: simulation {simulation}, training {training}',
      hideCursor: true,
      stream: process.stderr,
      barsize: 24,
    });
  }

  start(): void {
    this.#started = performance.now();
    this.#bar.start(this.#budget, 0, { best: '-', utilization: '-', simulation: this.#workers, training: 0 });
  }

  /** Show the thinker's state; `busySeconds` is worker time spent on finished tasks so far. */
  update(thinker: SteeringThinker, busySeconds: number): void {
    const elapsed = (performance.now() - this.#started) / 1000;
    const utilization = elapsed > 0 ? Math.min(1, busySeconds / (elapsed * this.#workers)) : 0;
    this.#bar.update(thinker.database.length + thinker.failed, {
      best: thinker.best === null ? '-' : thinker.best.value.toFixed(4),
      utilization: `${(utilization * 100).toFixed(0)} %`,
      simulation: thinker.rec.allocatedSlots('simulation'),
      training: thinker.rec.allocatedSlots('training'),
    });
  }

  stop(): void {
    this.#bar.stop();
  }
}

/** The final report, one fact per line; the last line names the report command when a run log was written. */
export function describeDemo(summary: DemoSummary): string {
  const percent = (fraction: number): string => `${(fraction * 100).toFixed(1)} %`;
  const verdict =
    summary.best < summary.randomBest
      ? `steering found a better design than random search (by ${(summary.randomBest - summary.best).toFixed(4)})`
      : 'random search did as well this time';
  const lines = [
    `Searched the Hartmann-6 function with ${summary.simulations} simulations (${summary.failed} failed) on ${summary.workers} worker thread(s) in ${summary.seconds.toFixed(1)} s.`,
    `  best found      ${summary.best.toFixed(5)} at [${summary.bestPoint.map((v) => v.toFixed(3)).join(', ')}] (known minimum ${HARTMANN6_MINIMUM})`,
    `  random search   ${summary.randomBest.toFixed(5)} with the same budget of ${summary.budget} and seed ${summary.seed}: ${verdict}`,
    `  model           a Gaussian process retrained ${summary.trainings.count} time(s), ${(summary.trainings.meanSeconds * 1000).toFixed(0)} ms each on a worker; ` +
      `${summary.moves.toTraining} slot move(s) simulation -> training, ${summary.moves.toSimulation} back`,
    `  utilization     ${percent(summary.utilization.total)} ${WORKER_UTILIZATION.name} (simulate ${percent(summary.utilization.simulation)}, retrain ${percent(summary.utilization.training)}): ${WORKER_UTILIZATION.definition}`,
    `  overhead        ${summary.medianOverheadMs.toFixed(3)} ms per task (median time in transit to the worker and back)`,
  ];
  if (summary.runLog !== null) lines.push(`  run log         ${summary.runLog}; see what the campaign did with: npx colmena report ${summary.runLog}`);
  return lines.join('\n');
}
