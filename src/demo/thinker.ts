/**
 * The demo's thinker: Bayesian optimization steered by agents.
 *
 * - `submit` keeps every simulation slot busy with the most promising design waiting in
 *   `candidates` (random designs at first, the model's proposals after each retraining);
 * - `record` takes each simulation result, frees its slot, and asks for a retraining once enough
 *   new results have come in;
 * - `train` answers that request: while it runs, a slot moves from the simulation pool to the
 *   training pool, the model is retrained on a worker thread (never on this event loop), and its
 *   ranked proposals replace the waiting candidates; then the slot goes back to simulation.
 */
import type { Result } from '../models/result.js';
import type { ColmenaQueues } from '../queue/base.js';
import { AsyncEvent, BaseThinker, ResourceCounter, WorkQueue, agent, eventResponder, resultProcessor, taskSubmitter } from '../thinker/index.js';
import type { GpHyperparameters } from './gp.js';
import type * as objective from './objective.js';
import { seededRandom, uniformPoint } from '../common/random.js';
import type * as surrogate from './surrogate.js';

/** The methods the demo's task server runs, by name. */
export type DemoMethods = {
  simulate: typeof objective.simulate;
  retrain: typeof surrogate.retrain;
};

export interface CampaignSettings {
  /** Simulations to run in all. */
  budget: number;
  /** Worker slots shared by simulation and training. */
  workers: number;
  /** Mean cost of one simulation in milliseconds. */
  workMs: number;
  /** Random designs simulated before the first model's proposals arrive. */
  initialDesigns: number;
  /** Retrain once this many new results have come in. */
  retrainEvery: number;
  /** Seed of the initial designs and of the model's candidate draws. */
  seed: number;
}

export interface Observation {
  x: number[];
  value: number;
}

/** One retraining, as the thinker saw it. */
export interface TrainingRound {
  /** Points the model was trained on. */
  points: number;
  /** Seconds the training task ran on its worker. */
  seconds: number;
  /** Slots of [simulation, training] while the training task ran. */
  allocation: [number, number];
  hyperparameters: GpHyperparameters;
}

/** Dimensions of the design space (Hartmann-6). */
export const DIMENSIONS = 6;

export class SteeringThinker extends BaseThinker<DemoMethods> {
  readonly settings: CampaignSettings;
  /** Designs waiting to be simulated, most promising first. */
  readonly candidates: WorkQueue<number[]>;
  /** Set when the model should be retrained. */
  readonly retrain = new AsyncEvent();
  /** Slots the training pool borrows while the model retrains. */
  readonly trainingSlots = 1;
  readonly database: Observation[] = [];
  readonly trainings: TrainingRound[] = [];
  best: Observation | null = null;
  failed = 0;
  /** Simulations sent so far. */
  sent = 0;
  #sinceTraining = 0;
  #hyperparameters: GpHyperparameters | null = null;
  readonly #onResult: (thinker: SteeringThinker) => void;

  constructor(queues: ColmenaQueues<DemoMethods>, settings: CampaignSettings, onResult: (thinker: SteeringThinker) => void = () => {}) {
    super(queues, new ResourceCounter(settings.workers, ['simulation', 'training']), { loggerName: 'demo' });
    this.settings = settings;
    const random = seededRandom(settings.seed);
    this.candidates = new WorkQueue(Array.from({ length: Math.min(settings.initialDesigns, settings.budget) }, () => uniformPoint(random, DIMENSIONS)));
    this.#onResult = onResult;
  }

  @agent({ startup: true })
  async allocate(): Promise<void> {
    await this.rec.reallocate(null, 'simulation', this.settings.workers);
    if (this.resumed) this.#carryOn();
  }

  @taskSubmitter({ taskType: 'simulation', workQueue: 'candidates' })
  async submit(x: number[]): Promise<void> {
    await this.queues.sendInputs('simulate', [x, this.settings.workMs], { topic: 'simulation' });
    this.sent++;
    if (this.sent >= this.settings.budget) {
      // The budget is spent: once the queue is closed and empty, this agent returns and the
      // campaign winds down (the result processor still takes every outstanding result).
      this.candidates.clear();
      this.candidates.close();
    }
  }

  @resultProcessor({ topic: 'simulation' })
  record(result: Result): void {
    this.rec.release('simulation', 1);
    if (!this.#observe(result)) this.logger.warn({ failure: result.failureInfo?.message }, 'a simulation failed');
    this.#sinceTraining++;
    if (!this.done.isSet() && this.sent < this.settings.budget && this.database.length >= 2 && this.#sinceTraining >= this.settings.retrainEvery) {
      this.retrain.set();
    }
    this.#onResult(this);
  }

  /** Whether this thinker took back a previous run's record (`--resume`). */
  resumed = false;

  /** Resuming: learn from a simulation of the previous run as `record` does, without its slot. */
  protected override replayResult(result: Result): void {
    this.resumed = true;
    if (result.method !== 'simulate') return; // the model is retrained from the database anyway
    this.sent++;
    this.#sinceTraining++;
    this.#dropCandidate(result.args[0] as number[]);
    this.#observe(result);
  }

  /** Add a simulation's value to the database (and the best so far), or count its failure; whether it succeeded. */
  #observe(result: Result): boolean {
    if (!result.success || typeof result.value !== 'number') {
      this.failed++;
      return false;
    }
    const observation = { x: result.args[0] as number[], value: result.value };
    this.database.push(observation);
    if (this.best === null || observation.value < this.best.value) this.best = observation;
    return true;
  }

  /** Resuming: a simulation left in flight goes back to the front of the candidates; a retraining is dropped. */
  protected override resumeTask(task: Result): void {
    this.resumed = true;
    if (task.method !== 'simulate') return;
    const x = task.args[0] as number[];
    this.#dropCandidate(x);
    this.candidates.replace([x, ...this.candidates.toArray()]);
  }

  /** After a resume: close a spent budget, or retrain at once if no candidate is waiting. */
  #carryOn(): void {
    if (this.sent >= this.settings.budget) {
      this.candidates.clear();
      this.candidates.close();
    } else if (this.candidates.size === 0 && this.database.length >= 2) {
      this.retrain.set();
    }
  }

  #dropCandidate(x: number[]): void {
    const waiting = this.candidates.toArray();
    const at = waiting.findIndex((c) => c.length === x.length && c.every((v, i) => v === x[i]));
    if (at >= 0) this.candidates.replace([...waiting.slice(0, at), ...waiting.slice(at + 1)]);
  }

  @eventResponder({
    eventName: 'retrain',
    reallocateResources: true,
    gatherFrom: 'simulation',
    gatherTo: 'training',
    disperseTo: 'simulation',
    maxSlots: 'trainingSlots',
  })
  async train(): Promise<void> {
    this.#sinceTraining = 0;
    try {
      // The responder's reallocator moves a slot here as soon as a simulation gives one back.
      await this.rec.acquire('training', this.trainingSlots, { signal: this.done.signal });
    } catch (error) {
      if (this.done.isSet()) return;
      throw error;
    }
    const allocation: [number, number] = [this.rec.allocatedSlots('simulation'), this.rec.allocatedSlots('training')];
    const points = this.database.map((o) => o.x);
    const values = this.database.map((o) => o.value);
    const count = this.settings.retrainEvery + 2 * this.settings.workers;
    let result;
    try {
      await this.queues.sendInputs('retrain', [points, values, { count, seed: this.settings.seed * 7919 + points.length, start: this.#hyperparameters }], {
        topic: 'training',
      });
      result = await this.queues.getResult('training');
    } finally {
      this.rec.release('training', this.trainingSlots);
    }
    if (!(result.success && result.method === 'retrain' && result.value !== undefined)) {
      this.logger.warn({ failure: result.failureInfo?.message }, 'retraining failed; keeping the current candidates');
      return;
    }
    const outcome = result.value;
    this.#hyperparameters = outcome.hyperparameters;
    this.trainings.push({ points: outcome.points, seconds: result.time.running, allocation, hyperparameters: outcome.hyperparameters });
    // Reprioritize: the model's proposals replace whatever was waiting.
    if (!this.candidates.closed) this.candidates.replace(outcome.proposals);
  }
}
