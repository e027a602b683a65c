/**
 * Colmena's quickstart: minimize f(x) = x² with two agents. The producer asks a task for a new
 * guess near the best so far and sends it to be evaluated; the consumer reads the evaluations and
 * keeps the best. When the consumer has read its share, the campaign ends.
 *
 *   npx tsx examples/quickstart/run.ts [--guesses 40] [--start 3] [--seed 1]
 */
import { agent, BaseThinker, LocalQueues, LocalTaskServer, type MethodsOf, moduleMethod } from '../../src/index.js';
import { numericArgs } from '../shared/args.js';
import type * as functions from './functions.js';

const url = new URL('./functions.ts', import.meta.url);
const methods = {
  targetFunction: moduleMethod<typeof functions.targetFunction>(url, 'targetFunction'),
  taskGenerator: moduleMethod<typeof functions.taskGenerator>(url, 'taskGenerator'),
};
type Methods = MethodsOf<typeof methods>;

export interface QuickstartOptions {
  /** Evaluations the consumer reads before the campaign ends. */
  guesses: number;
  /** The first guess. */
  start: number;
  seed: number;
  /** Print each improvement. @default false */
  verbose?: boolean;
}

export interface QuickstartOutcome {
  bestGuess: number;
  bestResult: number;
  /** The best result after each evaluation the consumer read. */
  history: number[];
  /** Guesses the producer made (it keeps going until the consumer is done). */
  produced: number;
}

class Thinker extends BaseThinker<Methods> {
  readonly remainingGuesses: number;
  readonly seed: number;
  readonly verbose: boolean;
  bestGuess: number;
  bestResult = Infinity;
  readonly history: number[] = [];
  produced = 0;

  constructor(queues: LocalQueues<Methods>, options: QuickstartOptions) {
    super(queues);
    this.remainingGuesses = options.guesses;
    this.bestGuess = options.start;
    this.seed = options.seed;
    this.verbose = options.verbose ?? false;
  }

  /** Read evaluations and keep the best; returning ends the campaign (sets `done`). */
  @agent()
  async consumer(): Promise<void> {
    for (let i = 0; i < this.remainingGuesses; i++) {
      const result = await this.queues.getResult('simulate');
      if (result.method !== 'targetFunction' || !result.success) throw new Error(`evaluation failed: ${result.failureInfo?.message}`);
      if (result.value! < this.bestResult) {
        this.bestResult = result.value!;
        this.bestGuess = result.args[0] as number;
        if (this.verbose) console.log(`guess ${i + 1}: new best f(${this.bestGuess.toFixed(4)}) = ${this.bestResult.toFixed(6)}`);
      }
      this.history.push(this.bestResult);
    }
  }

  /** Make a new guess near the best so far (a task), then send it to be evaluated (another task). */
  @agent()
  async producer(): Promise<void> {
    while (!this.done.isSet()) {
      await this.queues.sendInputs('taskGenerator', [this.bestGuess, this.seed * 100_003 + this.produced], { topic: 'generate' });
      let result;
      try {
        result = await this.queues.getResult('generate', { signal: this.done.signal });
      } catch (error) {
        if (this.done.isSet()) return; // the consumer has finished
        throw error;
      }
      if (result.method !== 'taskGenerator' || !result.success) throw new Error(`guess failed: ${result.failureInfo?.message}`);
      this.logger.info(`Created a new guess: ${result.value!.toFixed(2)}`);
      this.produced++;
      await this.queues.sendInputs('targetFunction', [result.value!], { topic: 'simulate' });
    }
  }
}

export async function runQuickstart(options: QuickstartOptions): Promise<QuickstartOutcome> {
  const queues = new LocalQueues<Methods>({ topics: ['generate', 'simulate'] });
  const server = new LocalTaskServer(queues, { methods, threads: 2 }).start();
  const thinker = new Thinker(queues, options);
  try {
    await thinker.run();
  } finally {
    // Guesses still in flight are answered and dropped; the server stops once it has answered them.
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
  }
  return { bestGuess: thinker.bestGuess, bestResult: thinker.bestResult, history: thinker.history, produced: thinker.produced };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.COLMENA_LOG_LEVEL ??= 'warn';
  const outcome = await runQuickstart({ ...numericArgs({ guesses: 40, start: 3, seed: 1 }), verbose: true });
  console.log(`Best guess ${outcome.bestGuess.toFixed(4)}: f = ${outcome.bestResult.toExponential(3)} after ${outcome.history.length} evaluations (${outcome.produced} guesses made).`);
}
