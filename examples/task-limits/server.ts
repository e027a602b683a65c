/**
 * The task server of the task-limits study, run as its own process as Colmena runs its task
 * server, serving `target` from the Redis queues at `<url>` and `<prefix>` with `<workers>`
 * workers of one of two kinds:
 *
 * - `threads`: one worker thread per worker (each fetches, decodes, runs, encodes and stores on
 *   its own thread);
 * - `slots`: `<workers>` numbered slots on the server's own event loop ({@link SlotsExecutor}):
 *   at most that many tasks run at once, each on a free slot. The method only waits, so one
 *   thread can keep them all going, and the data handling shares one heap instead of sixteen.
 *
 * Prints `ready` once it is listening and serves until the thinker's kill signal.
 *
 *   node --import tsx examples/task-limits/server.ts <url> <prefix> <workers> [threads|slots]
 */
import { pathToFileURL } from 'node:url';
import { type Executor, InlineExecutor, LocalTaskServer, type MethodSpec, moduleMethod, type RunContext, type TaskPayload, type TaskReply } from '../../src/index.js';
import { closeConfiguredStores } from '../../src/proxy/store-registry.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { RedisStore } from '../../src/proxy/redis-store.js';
import type * as taskMethods from './methods.js';

export type WorkerKind = 'threads' | 'slots';

const url = new URL('./methods.ts', import.meta.url);
export const methods = { target: moduleMethod<typeof taskMethods.target>(url, 'target') };

/**
 * `slots` numbered workers on the server's event loop: a task waits for a free slot, runs inline
 * on it, and its result names the slot as its worker (`slot-3`), so utilization can be counted
 * per worker as with threads.
 */
export class SlotsExecutor implements Executor {
  readonly name = 'slots';
  readonly sharesMemory = true;
  readonly #inline = new InlineExecutor('slots');
  readonly #free: number[];
  readonly #waiting: ((slot: number) => void)[] = [];

  constructor(slots: number) {
    this.#free = Array.from({ length: slots }, (_, i) => slots - 1 - i);
  }

  async run(spec: MethodSpec, payload: TaskPayload, context: RunContext): Promise<TaskReply> {
    const slot = this.#free.pop() ?? (await new Promise<number>((resolve) => this.#waiting.push(resolve)));
    try {
      const reply = await this.#inline.run(spec, payload, context);
      return { ...reply, workerInfo: { ...reply.workerInfo, workerId: `slot-${slot}` } };
    } finally {
      const next = this.#waiting.shift();
      if (next) next(slot);
      else this.#free.push(slot);
    }
  }

  async close(): Promise<void> {
    await this.#inline.close();
  }
}

export async function serve(redisUrl: string, prefix: string, workers: number, kind: WorkerKind, onReady: () => void): Promise<void> {
  const queues = new RedisQueues({ url: redisUrl, prefix, role: 'server', serializationMethod: 'msgpack' });
  // The store the thinker in run.ts passes values through: references name it by id only, so
  // this process is configured with it.
  const stores = [new RedisStore({ url: redisUrl, prefix: `${prefix}-store` })];
  const served =
    kind === 'threads'
      ? new LocalTaskServer(queues, { methods, threads: workers, stores })
      : new LocalTaskServer(queues, {
          methods: { target: moduleMethod<typeof taskMethods.target>(url, 'target', { executor: 'slots' }) },
          executors: { slots: new SlotsExecutor(workers) },
          stores,
        });
  served.start();
  onReady();
  await served.join();
  await queues.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.COLMENA_LOG_LEVEL ??= 'warn';
  const [redisUrl, prefix, workers, kind = 'threads'] = process.argv.slice(2);
  if (!redisUrl || !prefix || !workers || (kind !== 'threads' && kind !== 'slots')) {
    console.error('usage: server.ts <redis url> <prefix> <workers> [threads|slots]');
    process.exit(2);
  }
  await serve(redisUrl, prefix, Number(workers), kind, () => console.log('ready'));
  // Slots fetch and store values through connections of this process: let them go so it exits.
  await closeConfiguredStores();
}
