/**
 * MCMC: Metropolis–Hastings sampling where every chain step is a task. Each chain proposes a
 * point, a worker evaluates the log density there (the expensive part), and the result processor
 * accepts or rejects it and sends the chain's next proposal. Several chains run at once, so the
 * workers stay busy although each chain is sequential.
 *
 *   npx tsx examples/mcmc/run.ts [--chains 4] [--steps 500] [--burn-in 100] [--workers 2] [--work-ms 1] [--seed 1]
 */
import { agent, BaseThinker, LocalQueues, LocalTaskServer, type MethodsOf, moduleMethod, type Result, resultProcessor } from '../../src/index.js';
import { numericArgs } from '../shared/args.js';
import type * as taskMethods from './methods.js';
import { normal, seededRandom } from '../../src/common/random.js';

const url = new URL('./methods.ts', import.meta.url);
const methods = { logDensity: moduleMethod<typeof taskMethods.logDensity>(url, 'logDensity') };
type Methods = MethodsOf<typeof methods>;

export interface McmcOptions {
  chains: number;
  /** Steps per chain (each one task). */
  steps: number;
  /** Steps dropped from the start of each chain. */
  burnIn: number;
  workers: number;
  workMs: number;
  seed: number;
  /** Standard deviation of the random-walk proposal. @default 0.8 */
  proposalSd?: number;
}

export interface McmcOutcome {
  /** Mean of the kept samples of all chains. */
  mean: number[];
  /** Standard deviation of the kept samples, per coordinate. */
  sd: number[];
  correlation: number;
  acceptanceRate: number;
  /** Gelman–Rubin potential scale reduction per coordinate (near 1 when the chains agree). */
  rHat: number[];
  samples: number;
  tasks: number;
}

interface Chain {
  random: () => number;
  theta: number[];
  logDensity: number;
  steps: number;
  accepted: number;
  samples: number[][];
}

class Sampler extends BaseThinker<Methods> {
  readonly options: McmcOptions;
  readonly chains: Chain[];
  tasks = 0;

  constructor(queues: LocalQueues<Methods>, options: McmcOptions) {
    super(queues);
    this.options = options;
    this.chains = Array.from({ length: options.chains }, (_, c) => {
      const random = seededRandom(options.seed * 1009 + c);
      // Over-dispersed starting points, so that agreeing chains mean something.
      return { random, theta: [6 * random() - 3, 6 * random() - 3], logDensity: -Infinity, steps: 0, accepted: 0, samples: [] };
    });
  }

  async #evaluate(chain: number, theta: number[], kind: 'start' | 'step'): Promise<void> {
    this.tasks++;
    await this.queues.sendInputs('logDensity', [theta, this.options.workMs], { topic: 'chain', taskInfo: { chain, kind } });
  }

  /** Evaluate every chain's starting point. */
  @agent({ startup: true })
  async startChains(): Promise<void> {
    for (const [c, chain] of this.chains.entries()) await this.#evaluate(c, chain.theta, 'start');
  }

  /** One chain step per result: accept or reject, then send the chain's next proposal. */
  @resultProcessor({ topic: 'chain' })
  async step(result: Result): Promise<void> {
    if (!result.success) throw new Error(`log density failed: ${result.failureInfo?.message}`);
    const c = result.taskInfo.chain as number;
    const chain = this.chains[c]!;
    const proposed = result.args[0] as number[];
    const logDensity = result.value as number;
    if (result.taskInfo.kind === 'start') {
      chain.logDensity = logDensity;
    } else {
      chain.steps++;
      // Metropolis rule for a symmetric proposal.
      if (Math.log(chain.random()) < logDensity - chain.logDensity) {
        chain.theta = proposed;
        chain.logDensity = logDensity;
        chain.accepted++;
      }
      if (chain.steps > this.options.burnIn) chain.samples.push(chain.theta);
    }
    if (chain.steps < this.options.steps) {
      const sd = this.options.proposalSd ?? 0.8;
      await this.#evaluate(c, chain.theta.map((v) => v + sd * normal(chain.random)), 'step');
    } else if (this.chains.every((other) => other.steps >= this.options.steps)) {
      this.done.set();
    }
  }
}

export async function runMcmc(options: McmcOptions): Promise<McmcOutcome> {
  const queues = new LocalQueues<Methods>({ topics: ['chain'] });
  const server = new LocalTaskServer(queues, { methods, threads: options.workers }).start();
  const sampler = new Sampler(queues, options);
  try {
    await sampler.run();
  } finally {
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
  }
  return summarize(sampler);
}

function summarize(sampler: Sampler): McmcOutcome {
  const all = sampler.chains.flatMap((chain) => chain.samples);
  const meanOf = (rows: number[][], j: number): number => rows.reduce((s, r) => s + r[j]!, 0) / rows.length;
  const varianceOf = (rows: number[][], j: number, mean: number): number => rows.reduce((s, r) => s + (r[j]! - mean) ** 2, 0) / (rows.length - 1);
  const mean = [0, 1].map((j) => meanOf(all, j));
  const sd = [0, 1].map((j) => Math.sqrt(varianceOf(all, j, mean[j]!)));
  const covariance = all.reduce((s, r) => s + (r[0]! - mean[0]!) * (r[1]! - mean[1]!), 0) / (all.length - 1);
  const rHat = [0, 1].map((j) => {
    const n = sampler.chains[0]!.samples.length;
    const chainMeans = sampler.chains.map((chain) => meanOf(chain.samples, j));
    const within = sampler.chains.reduce((s, chain, c) => s + varianceOf(chain.samples, j, chainMeans[c]!), 0) / sampler.chains.length;
    const grand = chainMeans.reduce((a, b) => a + b, 0) / chainMeans.length;
    const between = (n * chainMeans.reduce((s, m) => s + (m - grand) ** 2, 0)) / (chainMeans.length - 1);
    return Math.sqrt(((n - 1) / n * within + between / n) / within);
  });
  const steps = sampler.chains.reduce((s, chain) => s + chain.steps, 0);
  const accepted = sampler.chains.reduce((s, chain) => s + chain.accepted, 0);
  return { mean, sd, correlation: covariance / (sd[0]! * sd[1]!), acceptanceRate: accepted / steps, rHat, samples: all.length, tasks: sampler.tasks };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.COLMENA_LOG_LEVEL ??= 'warn';
  const values = numericArgs({ chains: 4, steps: 500, 'burn-in': 100, workers: 2, 'work-ms': 1, seed: 1 });
  const outcome = await runMcmc({
    chains: values.chains,
    steps: values.steps,
    burnIn: values['burn-in'],
    workers: values.workers,
    workMs: values['work-ms'],
    seed: values.seed,
  });
  const { TARGET_MEAN, TARGET_SD, TARGET_CORRELATION } = await import('./methods.js');
  const pair = (v: number[]): string => `[${v.map((x) => x.toFixed(3)).join(', ')}]`;
  console.log(`${outcome.tasks} tasks, ${outcome.samples} samples kept, acceptance rate ${(outcome.acceptanceRate * 100).toFixed(0)} %`);
  console.log(`mean ${pair(outcome.mean)} (target ${pair(TARGET_MEAN)}), sd ${pair(outcome.sd)} (target ${pair(TARGET_SD)})`);
  console.log(`correlation ${outcome.correlation.toFixed(3)} (target ${TARGET_CORRELATION}), R-hat ${pair(outcome.rHat)}`);
}
