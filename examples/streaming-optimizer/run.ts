/**
 * Streaming optimizer (Colmena's second steering pattern): start one simulation per worker, then
 * each time a simulation finishes, choose one new simulation with everything learned so far and
 * start it at once. Workers rarely wait for each other, but each choice sits between a result and
 * the next start, so choosing must be fast compared with simulating.
 *
 *   npx tsx examples/streaming-optimizer/run.ts [--budget 60] [--workers 2] [--work-ms 50] [--seed 1]
 */
import { agent, BaseThinker, type Result } from '../../src/index.js';
import { describeOutcome, type Methods, type OptimizerOptions, type OptimizerOutcome, optionsFromArgs, outcome, startCampaign } from '../shared/campaign.js';
import type { Observation } from '../shared/optimization.js';

class StreamingOptimizer extends BaseThinker<Methods> {
  readonly options: OptimizerOptions;
  readonly database: Observation[] = [];
  readonly simulations: Result[] = [];
  #generated = 0;

  constructor(queues: ConstructorParameters<typeof BaseThinker<Methods>>[0], options: OptimizerOptions) {
    super(queues);
    this.options = options;
  }

  /** Ask the planning thread for `count` new points given the results so far. */
  async #generate(count: number): Promise<number[][]> {
    await this.queues.sendInputs('generateTasks', [this.database, count, this.options.seed * 1000 + this.#generated++], { topic: 'generate' });
    const generated = await this.queues.getResult('generate');
    if (generated.method !== 'generateTasks' || !generated.success) throw new Error(`generateTasks failed: ${generated.failureInfo?.message}`);
    return generated.value!;
  }

  @agent()
  async optimize(): Promise<void> {
    const { budget, workers, workMs } = this.options;
    // As many simulations as there are workers...
    let sent = 0;
    for (const x of await this.#generate(Math.min(workers, budget))) {
      await this.queues.sendInputs('simulate', [x, workMs], { topic: 'simulate' });
      sent++;
    }
    // ...then one new simulation per finished one, chosen with the latest results.
    while (this.simulations.length < budget) {
      const result = await this.queues.getResult('simulate');
      this.simulations.push(result);
      if (result.method === 'simulate' && result.success) this.database.push({ x: result.args[0] as number[], value: result.value! });
      if (sent < budget) {
        const [x] = await this.#generate(1);
        await this.queues.sendInputs('simulate', [x!, workMs], { topic: 'simulate' });
        sent++;
      }
    }
  }
}

export async function runStreamingOptimizer(options: OptimizerOptions): Promise<OptimizerOutcome> {
  const campaign = startCampaign(['generate', 'simulate'], options.workers);
  const thinker = new StreamingOptimizer(campaign.queues, options);
  const started = performance.now();
  try {
    await thinker.run();
  } finally {
    await campaign.close();
  }
  return outcome(thinker.simulations, options, (performance.now() - started) / 1000);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.COLMENA_LOG_LEVEL ??= 'warn';
  console.log(describeOutcome('streaming optimizer', await runStreamingOptimizer(optionsFromArgs())));
}
