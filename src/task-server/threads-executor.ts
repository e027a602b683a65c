import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { TaskPayload, TaskReply } from '../methods/run.js';
import { workerInfo } from '../methods/run.js';
import type { MethodSpec } from '../methods/spec.js';
import { failureFromError } from '../models/failure.js';
import { siblingModule } from '../util/sibling.js';
import type { Executor } from './executor.js';
import { emptyReply } from './inline-executor.js';
import type { ThreadTask } from './thread-worker.js';

export interface ThreadsExecutorOptions {
  /** Worker threads to keep. @default the machine's available parallelism */
  threads?: number;
}

const WORKER_FILE = siblingModule(import.meta.url, 'thread-worker');

/** Runs module methods on a pool of worker threads (piscina). */
export class ThreadsExecutor implements Executor {
  readonly name: string;
  readonly #pool: Piscina<ThreadTask, TaskReply>;

  constructor(name = 'threads', options: ThreadsExecutorOptions = {}) {
    this.name = name;
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) {
      throw new RangeError(`threads must be a positive integer, got ${String(options.threads)}`);
    }
    this.#pool = new Piscina<ThreadTask, TaskReply>({
      filename: WORKER_FILE.href,
      minThreads: threads,
      maxThreads: threads,
      // A worker that hangs up on idle would cost a thread start on the next burst.
      idleTimeout: Number.POSITIVE_INFINITY,
    });
  }

  async run(spec: MethodSpec, payload: TaskPayload): Promise<TaskReply> {
    if (spec.kind !== 'module') {
      const error = new TypeError(
        `Method '${payload.method}' is not named by module and export, so a worker thread cannot load it. ` +
          `Declare it with moduleMethod(new URL('./file.js', import.meta.url), '${payload.method}'), or run it inline.`,
      );
      return { ...emptyReply(workerInfo(this.name)), failure: failureFromError(error) };
    }
    try {
      return await this.#pool.run({ module: spec.module, exportName: spec.exportName, payload });
    } catch (error) {
      // The thread died (process.exit, an uncaught error outside the method, out of memory):
      // piscina replaces it; the task becomes a failed result.
      return { ...emptyReply(workerInfo(this.name)), failure: failureFromError(error, 'worker-crashed') };
    }
  }

  async close(): Promise<void> {
    await this.#pool.close({ force: true });
  }
}
