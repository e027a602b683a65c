/**
 * Reallocation: simulations run on every slot until enough new results are in; then an event
 * fires and its responder borrows slots from the simulation pool for training (a ResourceCounter
 * reallocation done in the background by the `@eventResponder`), trains an ensemble with one
 * member per borrowed slot, and hands the slots back when it returns. The allocation history
 * shows each move.
 *
 *   npx tsx examples/reallocation/run.ts [--simulations 60] [--slots 4] [--training-slots 2] [--retrain-every 12] [--work-ms 20] [--train-ms 80]
 */
import {
  agent,
  AsyncEvent,
  BaseThinker,
  eventResponder,
  LocalQueues,
  LocalTaskServer,
  type MethodsOf,
  moduleMethod,
  type ResourceChange,
  ResourceCounter,
  type Result,
  resultProcessor,
  taskSubmitter,
  WorkQueue,
} from '../../src/index.js';
import { numericArgs } from '../shared/args.js';
import type * as taskMethods from './methods.js';

const url = new URL('./methods.ts', import.meta.url);
const methods = {
  simulate: moduleMethod<typeof taskMethods.simulate>(url, 'simulate'),
  train: moduleMethod<typeof taskMethods.train>(url, 'train'),
};
type Methods = MethodsOf<typeof methods>;

export interface ReallocationOptions {
  simulations: number;
  /** Slots (and worker threads) in all. */
  slots: number;
  /** Slots borrowed for each training round: one ensemble member each. */
  trainingSlots: number;
  retrainEvery: number;
  workMs: number;
  trainMs: number;
}

/** One line of the allocation history: a move and the allocation right after it. */
export interface Move {
  /** Seconds since the campaign started. */
  t: number;
  from: string;
  to: string;
  slots: number;
  simulation: number;
  training: number;
}

export interface ReallocationOutcome {
  moves: Move[];
  /** [simulation, training] slots seen by each training round once it held its slots. */
  duringTraining: [number, number][];
  trainingRounds: number;
  simulations: number;
  /** Best response found, and where. */
  best: { x: number; value: number };
}

class Reallocating extends BaseThinker<Methods> {
  readonly options: ReallocationOptions;
  readonly startTraining = new AsyncEvent();
  readonly trainingSlots: number;
  readonly todo: WorkQueue<number>;
  readonly xs: number[] = [];
  readonly ys: number[] = [];
  readonly duringTraining: [number, number][] = [];
  trainingRounds = 0;
  sent = 0;
  #sinceTraining = 0;

  constructor(queues: LocalQueues<Methods>, options: ReallocationOptions) {
    super(queues, new ResourceCounter(options.slots, ['simulation', 'training']));
    this.options = options;
    this.trainingSlots = options.trainingSlots;
    // Start with an even sweep of the interval.
    this.todo = new WorkQueue(Array.from({ length: options.retrainEvery * 2 }, (_, i) => (i + 0.5) / (options.retrainEvery * 2)));
  }

  @agent({ startup: true })
  async allocate(): Promise<void> {
    await this.rec.reallocate(null, 'simulation', this.options.slots);
  }

  @taskSubmitter({ taskType: 'simulation', workQueue: 'todo' })
  async simulate(x: number): Promise<void> {
    await this.queues.sendInputs('simulate', [x, this.options.workMs], { topic: 'simulation' });
    if (++this.sent === this.options.simulations) {
      // Budget spent: drop what is waiting; the submitter returns and the campaign winds down.
      this.todo.clear();
      this.todo.close();
    }
  }

  @resultProcessor({ topic: 'simulation' })
  record(result: Result): void {
    this.rec.release('simulation', 1);
    if (result.method === 'simulate' && result.success) {
      this.xs.push(result.args[0] as number);
      this.ys.push(result.value as number);
    }
    if (++this.#sinceTraining >= this.options.retrainEvery && this.sent < this.options.simulations) this.startTraining.set();
  }

  /** Runs when `startTraining` is set; slots move simulation -> training while it runs, and back after. */
  @eventResponder({
    eventName: 'startTraining',
    reallocateResources: true,
    gatherFrom: 'simulation',
    gatherTo: 'training',
    disperseTo: 'simulation',
    maxSlots: 'trainingSlots',
  })
  async train(): Promise<void> {
    this.#sinceTraining = 0;
    try {
      await this.rec.acquire('training', this.trainingSlots, { signal: this.done.signal });
    } catch (error) {
      if (this.done.isSet()) return;
      throw error;
    }
    this.duringTraining.push([this.rec.allocatedSlots('simulation'), this.rec.allocatedSlots('training')]);
    const ensemble: number[][] = [];
    try {
      for (let member = 0; member < this.trainingSlots; member++) {
        await this.queues.sendInputs('train', [this.xs, this.ys, this.trainingRounds * 100 + member, this.options.trainMs], { topic: 'training' });
      }
      for (let member = 0; member < this.trainingSlots; member++) {
        const result = await this.queues.getResult('training');
        if (result.method === 'train' && result.success) ensemble.push(result.value!);
      }
    } finally {
      this.rec.release('training', this.trainingSlots);
    }
    this.trainingRounds++;
    if (ensemble.length > 0 && !this.todo.closed) this.todo.replace(propose(ensemble, this.options.retrainEvery * 2));
  }
}

/** Next points: lowest ensemble mean minus spread on a fine grid, kept a little apart. */
function propose(ensemble: number[][], count: number): number[] {
  const evaluate = (w: number[], x: number): number => w.reduce((sum, c, i) => sum + c * x ** i, 0);
  const grid = Array.from({ length: 401 }, (_, i) => i / 400).map((x) => {
    const predictions = ensemble.map((w) => evaluate(w, x));
    const mean = predictions.reduce((a, b) => a + b, 0) / predictions.length;
    const spread = Math.sqrt(predictions.reduce((a, b) => a + (b - mean) ** 2, 0) / predictions.length);
    return { x, score: mean - spread };
  });
  grid.sort((a, b) => a.score - b.score);
  const chosen: number[] = [];
  for (const { x } of grid) {
    if (chosen.length === count) break;
    if (chosen.every((c) => Math.abs(c - x) >= 0.01)) chosen.push(x);
  }
  return chosen;
}

export async function runReallocation(options: ReallocationOptions): Promise<ReallocationOutcome> {
  const queues = new LocalQueues<Methods>({ topics: ['simulation', 'training'] });
  const server = new LocalTaskServer(queues, { methods, threads: options.slots }).start();
  const thinker = new Reallocating(queues, options);
  const moves: Move[] = [];
  const started = performance.now();
  thinker.rec.events.on('change', (change: ResourceChange) => {
    if (change.kind !== 'reallocate') return;
    moves.push({
      t: (performance.now() - started) / 1000,
      from: change.from ?? 'unallocated',
      to: change.to ?? 'unallocated',
      slots: change.slots,
      simulation: thinker.rec.allocatedSlots('simulation'),
      training: thinker.rec.allocatedSlots('training'),
    });
  });
  try {
    await thinker.run();
  } finally {
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
  }
  const bestIndex = thinker.ys.indexOf(Math.min(...thinker.ys));
  return {
    moves,
    duringTraining: thinker.duringTraining,
    trainingRounds: thinker.trainingRounds,
    simulations: thinker.ys.length,
    best: { x: thinker.xs[bestIndex]!, value: thinker.ys[bestIndex]! },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.COLMENA_LOG_LEVEL ??= 'warn';
  const values = numericArgs({ simulations: 60, slots: 4, 'training-slots': 2, 'retrain-every': 12, 'work-ms': 20, 'train-ms': 80 });
  const outcome = await runReallocation({
    simulations: values.simulations,
    slots: values.slots,
    trainingSlots: values['training-slots'],
    retrainEvery: values['retrain-every'],
    workMs: values['work-ms'],
    trainMs: values['train-ms'],
  });
  console.log('allocation history (slots of simulation / training after each move):');
  for (const m of outcome.moves) {
    console.log(`  ${m.t.toFixed(3).padStart(7)} s  ${m.from} -> ${m.to}: ${m.slots}   now ${m.simulation} / ${m.training}`);
  }
  console.log(
    `${outcome.trainingRounds} training rounds, ${outcome.simulations} simulations; ` +
      `best response ${outcome.best.value.toFixed(4)} at x = ${outcome.best.x.toFixed(3)}`,
  );
}
