/**
 * `npm run bench -- thinker [--quick] [--campaigns N] [--max-tasks N] [--slots N]`: how long a
 * thinker takes to finish once its campaign is over, i.e. the time from the last result reaching
 * a result processor to `run()` resolving, over many small campaigns on the in-process queues.
 * (Python Colmena's agents notice the end on a one-second polling tick.)
 *
 * Two endings alternate: the task submitter runs out of work (done is set early and the result
 * processor drains the outstanding tasks), and the result processor sets done itself on the last
 * result (the submitter's waiting acquire is cancelled).
 */
import { inlineMethod } from '../src/methods/spec.js';
import type { Result } from '../src/models/result.js';
import { LocalQueues } from '../src/queue/local.js';
import { LocalTaskServer } from '../src/task-server/local.js';
import { BaseThinker, ResourceCounter, WorkQueue, agent, resultProcessor, taskSubmitter } from '../src/thinker/index.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

const methods = { square: inlineMethod((x: number) => x * x) };
type Methods = { square: (x: number) => number };

abstract class Campaign extends BaseThinker<Methods> {
  readonly todo: WorkQueue<number>;
  readonly tasks: number;
  received = 0;
  lastResultAt = 0;

  constructor(queues: LocalQueues<Methods>, rec: ResourceCounter, tasks: number) {
    super(queues, rec, { loggerName: 'bench' });
    this.tasks = tasks;
    this.todo = new WorkQueue(Array.from({ length: tasks }, (_, i) => i));
  }

  @agent({ startup: true })
  async allocate() {
    await this.rec.reallocate(null, 'sim', 'all');
  }

  @taskSubmitter({ taskType: 'sim', workQueue: 'todo' })
  async submit(x: number) {
    await this.queues.sendInputs('square', [x], { topic: 'sim' });
  }

  @resultProcessor({ topic: 'sim' })
  collect(_result: Result) {
    if (++this.received === this.tasks) {
      this.lastResultAt = performance.now();
      this.onLastResult();
    }
    this.rec.release('sim', 1);
  }

  protected abstract onLastResult(): void;
}

/** The work queue is closed up front: the submitter returns (setting done) once it has sent everything. */
class RunsOutOfWork extends Campaign {
  constructor(queues: LocalQueues<Methods>, rec: ResourceCounter, tasks: number) {
    super(queues, rec, tasks);
    this.todo.close();
  }
  protected onLastResult(): void {}
}

/** The work queue stays open: the processor sets done on the last result. */
class EndsOnLastResult extends Campaign {
  protected onLastResult(): void {
    this.done.set();
  }
}

export async function main(argv: string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const campaigns = option(argv, 'campaigns', quick ? 200 : 2000);
  const maxTasks = option(argv, 'max-tasks', 200);
  const slots = option(argv, 'slots', 4);

  const shutdownMs: number[] = [];
  let tasks = 0;
  for (let i = 0; i < campaigns; i++) {
    const queues = new LocalQueues<Methods>({ topics: ['sim'] });
    const server = new LocalTaskServer(queues, { methods }).start();
    const size = 1 + ((i * 7919) % maxTasks);
    const Kind = i % 2 === 0 ? RunsOutOfWork : EndsOnLastResult;
    const thinker = new Kind(queues, new ResourceCounter(slots, ['sim']), size);
    await thinker.run();
    const finishedAt = performance.now();
    if (thinker.received !== size) throw new Error(`campaign ${i}: ${thinker.received} of ${size} results`);
    // Skip the first few campaigns: module loading and JIT warm-up.
    if (i >= Math.min(10, campaigns / 10)) shutdownMs.push(finishedAt - thinker.lastResultAt);
    tasks += size;
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
  }

  shutdownMs.sort((a, b) => a - b);
  console.log(`# thinker: ${campaigns} campaigns, ${tasks} tasks, ${slots} slots, max ${shutdownMs.at(-1)?.toFixed(3)} ms`);
  console.log(
    JSON.stringify({
      bench: 'thinker',
      shutdown_p50_ms: round(percentile(shutdownMs, 50)),
      shutdown_p99_ms: round(percentile(shutdownMs, 99)),
    }),
  );
}

function option(argv: readonly string[], name: string, fallback: number): number {
  const index = argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(argv[index + 1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} needs a positive integer, got ${argv[index + 1]}`);
  return value;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
