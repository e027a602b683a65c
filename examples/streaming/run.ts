/**
 * Streaming: a generator task proposes designs one at a time and, with `generator: 'stream'`,
 * each design comes back as an intermediate result (`complete: false`) the moment it is yielded.
 * The thinker starts a simulation of each design right away, so simulations run while the
 * generator is still working instead of waiting for its whole batch.
 *
 *   npx tsx examples/streaming/run.ts [--designs 12] [--generate-ms 60] [--simulate-ms 40] [--seed 1]
 */
import { agent, BaseThinker, LocalQueues, LocalTaskServer, type MethodsOf, moduleMethod, type Result, resultProcessor } from '../../src/index.js';
import { numericArgs } from '../shared/args.js';
import type * as taskMethods from './methods.js';

const url = new URL('./methods.ts', import.meta.url);
const methods = {
  generateDesigns: moduleMethod<typeof taskMethods.generateDesigns>(url, 'generateDesigns', { generator: 'stream' }),
  simulate: moduleMethod<typeof taskMethods.simulate>(url, 'simulate'),
};
type Methods = MethodsOf<typeof methods>;

export interface StreamingOptions {
  designs: number;
  /** Search time per design in the generator, in milliseconds. */
  generateMs: number;
  simulateMs: number;
  seed: number;
}

export interface StreamingOutcome {
  /** Epoch seconds when the generator task ended (its final result's computeEnded). */
  generatorEnded: number;
  /** Epoch seconds when each simulation started, in order. */
  simulationStarts: number[];
  /** Simulations that started before the generator ended. */
  startedBeforeGeneratorEnded: number;
  /** Designs received: intermediate results, then the final one. */
  received: { complete: boolean | null; at: number }[];
  best: { design: number[]; value: number };
}

class StreamingCampaign extends BaseThinker<Methods> {
  readonly options: StreamingOptions;
  readonly received: { complete: boolean | null; at: number }[] = [];
  readonly simulations: Result[] = [];
  generatorEnded = NaN;

  constructor(queues: LocalQueues<Methods>, options: StreamingOptions) {
    super(queues);
    this.options = options;
  }

  /** Start the generator, and a simulation for each design as it streams in. */
  @agent()
  async steer(): Promise<void> {
    const { designs, seed, generateMs, simulateMs } = this.options;
    await this.queues.sendInputs('generateDesigns', [designs, seed, generateMs], { topic: 'generate' });
    for (;;) {
      const result = await this.queues.getResult('generate');
      if (result.method !== 'generateDesigns' || !result.success) throw new Error(`the generator failed: ${result.failureInfo?.message}`);
      this.received.push({ complete: result.complete, at: result.timestamp.resultReceived });
      // The final result carries the generator's return value (none here): every design came before it.
      if (result.complete !== false) {
        this.generatorEnded = result.timestamp.computeEnded;
        break;
      }
      // The generator's value type is its yield type: one design per intermediate result.
      const design = result.value as unknown as number[];
      await this.queues.sendInputs('simulate', [design, simulateMs], { topic: 'simulate' });
    }
    // Every design is out; returning after the last simulation ends the campaign.
    await this.queues.waitUntilDone({ topic: 'simulate' });
  }

  @resultProcessor({ topic: 'simulate' })
  record(result: Result): void {
    this.simulations.push(result);
  }
}

export async function runStreaming(options: StreamingOptions): Promise<StreamingOutcome> {
  const queues = new LocalQueues<Methods>({ topics: ['generate', 'simulate'] });
  // One thread for the generator, one for simulations.
  const server = new LocalTaskServer(queues, { methods, threads: 2 }).start();
  const thinker = new StreamingCampaign(queues, options);
  try {
    await thinker.run();
  } finally {
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
  }
  const simulationStarts = thinker.simulations.map((r) => r.timestamp.computeStarted).sort((a, b) => a - b);
  const best = thinker.simulations.reduce((a, b) => ((b.value as number) > (a.value as number) ? b : a));
  return {
    generatorEnded: thinker.generatorEnded,
    simulationStarts,
    startedBeforeGeneratorEnded: simulationStarts.filter((t) => t < thinker.generatorEnded).length,
    received: thinker.received,
    best: { design: best.args[0] as number[], value: best.value as number },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.COLMENA_LOG_LEVEL ??= 'warn';
  const values = numericArgs({ designs: 12, 'generate-ms': 60, 'simulate-ms': 40, seed: 1 });
  const outcome = await runStreaming({ designs: values.designs, generateMs: values['generate-ms'], simulateMs: values['simulate-ms'], seed: values.seed });
  const origin = outcome.received[0]?.at ?? 0;
  const ms = (t: number): string => `${((t - origin) * 1000).toFixed(0)} ms`;
  console.log(`designs received at: ${outcome.received.map((r) => ms(r.at)).join(', ')} (the last one is the final result)`);
  console.log(`simulations started at: ${outcome.simulationStarts.map(ms).join(', ')}`);
  console.log(
    `the generator ended at ${ms(outcome.generatorEnded)}: ${outcome.startedBeforeGeneratorEnded} of ${outcome.simulationStarts.length} simulations had started by then`,
  );
  console.log(`highest scoring design: [${outcome.best.design.map((v) => v.toFixed(3)).join(', ')}] -> ${outcome.best.value.toFixed(4)}`);
}
