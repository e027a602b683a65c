/**
 * Batch optimizer (Colmena's first steering pattern): choose a batch of simulations, run every
 * one, wait for the whole batch, repeat. Simple, but workers that finish early sit idle until the
 * slowest simulation of the batch is done.
 *
 *   npx tsx examples/batch-optimizer/run.ts [--budget 60] [--workers 2] [--work-ms 50] [--seed 1]
 */
import { agent, BaseThinker, type Result } from '../../src/index.js';
import { describeOutcome, type Methods, type OptimizerOptions, type OptimizerOutcome, optionsFromArgs, outcome, startCampaign } from '../shared/campaign.js';
import type { Observation } from '../shared/optimization.js';

class BatchOptimizer extends BaseThinker<Methods> {
  readonly options: OptimizerOptions;
  readonly database: Observation[] = [];
  readonly simulations: Result[] = [];

  constructor(queues: ConstructorParameters<typeof BaseThinker<Methods>>[0], options: OptimizerOptions) {
    super(queues);
    this.options = options;
  }

  @agent()
  async optimize(): Promise<void> {
    const { budget, workers, workMs, seed } = this.options;
    for (let round = 0; this.database.length < budget; round++) {
      const size = Math.min(workers, budget - this.database.length);
      // Use what is known so far to choose the next batch (a task on the planning thread).
      await this.queues.sendInputs('generateTasks', [this.database, size, seed * 1000 + round], { topic: 'generate' });
      const generated = await this.queues.getResult('generate');
      if (generated.method !== 'generateTasks' || !generated.success) throw new Error(`generateTasks failed: ${generated.failureInfo?.message}`);

      // Send out the whole batch, then collect all of it.
      for (const x of generated.value!) await this.queues.sendInputs('simulate', [x, workMs], { topic: 'simulate' });
      for (let i = 0; i < size; i++) {
        const result = await this.queues.getResult('simulate');
        this.simulations.push(result);
        if (result.method === 'simulate' && result.success) this.database.push({ x: result.args[0] as number[], value: result.value! });
      }
    }
  }
}

export async function runBatchOptimizer(options: OptimizerOptions): Promise<OptimizerOutcome> {
  const campaign = startCampaign(['generate', 'simulate'], options.workers);
  const thinker = new BatchOptimizer(campaign.queues, options);
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
  console.log(describeOutcome('batch optimizer', await runBatchOptimizer(optionsFromArgs())));
}
