/**
 * Interleaved optimizer (Colmena's third steering pattern): a dispatcher agent starts the next
 * simulation from a task queue the moment one finishes, while a second agent keeps that queue in
 * order: each time new results are in, it sends the database and the waiting tasks to a
 * reprioritizing task (on a planning thread of its own), then reorders the queue and adds the
 * fresh candidates the task proposed. Simulations never wait for planning.
 *
 *   npx tsx examples/interleaved-optimizer/run.ts [--budget 60] [--workers 2] [--work-ms 50] [--seed 1]
 */
import { agent, AsyncEvent, BaseThinker, type Result, WorkQueue } from '../../src/index.js';
import { describeOutcome, type Methods, type OptimizerOptions, type OptimizerOutcome, optionsFromArgs, outcome, startCampaign } from '../shared/campaign.js';
import { type Observation, randomPoint, seededRandom } from '../shared/optimization.js';

export interface InterleavedOutcome extends OptimizerOutcome {
  /** Times the task queue was reordered. */
  reorderings: number;
}

class InterleavedOptimizer extends BaseThinker<Methods> {
  readonly options: OptimizerOptions;
  readonly database: Observation[] = [];
  readonly simulations: Result[] = [];
  /** The task list both agents share; the prioritizer reorders it. */
  readonly taskQueue: WorkQueue<number[]>;
  /** Set by the dispatcher when results have arrived since the last reordering. */
  readonly newData = new AsyncEvent();
  readonly queueLength: number;
  reorderings = 0;

  constructor(queues: ConstructorParameters<typeof BaseThinker<Methods>>[0], options: OptimizerOptions) {
    super(queues);
    this.options = options;
    this.queueLength = Math.max(8, 4 * options.workers);
    const random = seededRandom(options.seed);
    this.taskQueue = new WorkQueue(Array.from({ length: this.queueLength }, () => randomPoint(random)));
  }

  /** Keep every worker busy from the task queue; returning ends the campaign. */
  @agent()
  async dispatcher(): Promise<void> {
    const { budget, workers, workMs } = this.options;
    let sent = 0;
    const sendNext = async (): Promise<void> => {
      const next = await this.taskQueue.take();
      if (next.done) throw new Error('the task queue was closed');
      await this.queues.sendInputs('simulate', [next.value, workMs], { topic: 'doer' });
      sent++;
    };
    while (sent < Math.min(workers, budget)) await sendNext();
    while (this.simulations.length < budget) {
      const result = await this.queues.getResult('doer');
      this.simulations.push(result);
      if (result.method === 'simulate' && result.success) this.database.push({ x: result.args[0] as number[], value: result.value! });
      this.newData.set();
      // Start the next task at once: no planning stands in between.
      if (sent < budget) await sendNext();
    }
  }

  /** Whenever new results are in, reorder the waiting tasks with a reprioritizing task. */
  @agent()
  async prioritizer(): Promise<void> {
    const { workers, seed } = this.options;
    for (;;) {
      try {
        await this.newData.wait({ signal: this.done.signal });
      } catch (error) {
        if (this.done.isSet()) return;
        throw error;
      }
      this.newData.clear();
      const waiting = this.taskQueue.toArray();
      // Top the queue up with fresh candidates as it drains.
      const fresh = Math.max(workers, this.queueLength - waiting.length);
      await this.queues.sendInputs('reprioritize', [this.database, waiting, fresh, seed * 1000 + this.reorderings], { topic: 'thinker' });
      const result = await this.queues.getResult('thinker');
      if (result.method !== 'reprioritize' || !result.success) throw new Error(`reprioritize failed: ${result.failureInfo?.message}`);
      // Tasks the dispatcher took meanwhile are gone; keep the rest in their new order, behind the fresh ones.
      const stillWaiting = new Set(this.taskQueue.toArray());
      const ordered = result.value!.order.map((i) => waiting[i]!).filter((x) => stillWaiting.has(x));
      this.taskQueue.replace([...result.value!.fresh, ...ordered].slice(0, this.queueLength));
      this.reorderings++;
    }
  }
}

export async function runInterleavedOptimizer(options: OptimizerOptions): Promise<InterleavedOutcome> {
  const campaign = startCampaign(['doer', 'thinker'], options.workers);
  const thinker = new InterleavedOptimizer(campaign.queues, options);
  const started = performance.now();
  try {
    await thinker.run();
  } finally {
    await campaign.close();
  }
  return { ...outcome(thinker.simulations, options, (performance.now() - started) / 1000), reorderings: thinker.reorderings };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.COLMENA_LOG_LEVEL ??= 'warn';
  const result = await runInterleavedOptimizer(optionsFromArgs());
  console.log(`${describeOutcome('interleaved optimizer', result)}; the task queue was reordered ${result.reorderings} times`);
}
