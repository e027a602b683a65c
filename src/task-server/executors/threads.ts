import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { IntermediateReply, TaskPayload, TaskReply } from '../../methods/envelope.js';
import { abortReason, failedReply, type RunContext, workerInfo } from '../../methods/run.js';
import type { MethodSpec } from '../../methods/spec.js';
import { siblingModule } from '../../common/sibling.js';
import type { StopSignal } from '../../common/stop-signal.js';
import type { Executor } from '../executor.js';
import type { MethodKind } from '../fit.js';
import { unpinnable } from './accelerators.js';
import { processStores } from '../../proxy/store-registry.js';
import type { ThreadReply, ThreadTask, ThreadWorkerData } from './thread-worker.js';
import { InvalidArgumentError } from '../../common/errors.js';

export interface ThreadsExecutorOptions {
  /** Worker threads to keep. @default the machine's available parallelism */
  threads?: number;
}

const WORKER_FILE = siblingModule(import.meta.url, 'thread-worker');

/**
 * Runs module methods on a pool of worker threads (piscina). Cancelling or timing out a task
 * terminates its thread (piscina starts a fresh one). Executables belong on the `inline` or
 * `processes` executors: a terminated thread cannot kill the program it started.
 */
export class ThreadsExecutor implements Executor {
  readonly name: string;
  /** Not executables: a terminated thread cannot kill the program it started. */
  readonly runs: readonly MethodKind[] = ['module-function'];
  /** Worker threads kept, each running one task at a time. */
  readonly capacity: number;
  readonly #pool: Piscina<ThreadTask, ThreadReply>;
  /** Threads ended (a kill, a crash) whose replacement is not ready yet. */
  #replacing = 0;
  #closing = false;
  readonly #unavailableListeners: ((count: number) => void)[] = [];

  constructor(name = 'threads', options: ThreadsExecutorOptions = {}) {
    this.name = name;
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) {
      throw new InvalidArgumentError(`threads must be a positive integer, got ${String(options.threads)}`);
    }
    this.capacity = threads;
    this.#pool = new Piscina<ThreadTask, ThreadReply>({
      filename: WORKER_FILE.href,
      minThreads: threads,
      maxThreads: threads,
      // A worker that hangs up on idle would cost a thread start on the next burst.
      idleTimeout: Number.POSITIVE_INFINITY,
      // The stores this process was configured with: references name them by id only.
      workerData: { stores: processStores.configs() } satisfies ThreadWorkerData,
    });
    // piscina replaces a thread it ends at once and says 'workerCreate' once the new one is ready
    // (its first threads say it at start, with nothing to replace).
    this.#pool.on('workerDestroy', () => {
      if (!this.#closing) this.#setReplacing(this.#replacing + 1);
    });
    this.#pool.on('workerCreate', () => {
      if (this.#replacing > 0) this.#setReplacing(this.#replacing - 1);
    });
  }

  watchUnavailable(listener: (count: number) => void): void {
    this.#unavailableListeners.push(listener);
  }

  #setReplacing(count: number): void {
    this.#replacing = count;
    for (const listener of this.#unavailableListeners) listener(count);
  }

  /**
   * Tasks handed over and waiting in the pool for a free thread. A task server keeps it at 0 (it
   * hands over no more than `capacity`), so a task's timeout never runs while it sits here.
   */
  get queued(): number {
    return this.#pool.queueSize;
  }

  /** Not `async`: the common path returns the pool's own promise chain, so a reply reaches the server in the fewest hops. */
  run(spec: MethodSpec, payload: TaskPayload, context: RunContext): Promise<TaskReply> {
    if (spec.kind !== 'module') {
      const error = new TypeError(
        `Method '${payload.method}' is not named by module and export, so a worker thread cannot load it. ` +
          `Declare it with moduleMethod(new URL('./file.js', import.meta.url), '${payload.method}'), or run it inline.`,
      );
      return Promise.resolve(failedReply(workerInfo(this.name), error));
    }
    const unpinned = unpinnable(payload, this.name);
    if (unpinned) return Promise.resolve(failedReply(workerInfo(this.name), unpinned));
    const task: ThreadTask = { module: spec.module, exportName: spec.exportName, payload };
    const onIntermediate = context.onIntermediate;
    if (payload.generator !== 'stream' || !onIntermediate) {
      return this.#runOnPool(task, [], context.signal);
    }
    return this.#runStreaming(task, context.signal, onIntermediate);
  }

  async #runStreaming(task: ThreadTask, signal: StopSignal | undefined, onIntermediate: (item: IntermediateReply) => void): Promise<TaskReply> {
    // Streaming: values come back on a port of their own while the task runs.
    const { port1, port2 } = new MessageChannel();
    task.port = port2;
    let received = 0;
    let allReceived: () => void = () => {};
    let expected = Infinity;
    port1.on('message', (item: IntermediateReply) => {
      received++;
      onIntermediate(item);
      if (received >= expected) allReceived();
    });
    try {
      const reply = await this.#runOnPool(task, [port2], signal);
      expected = reply.intermediates ?? 0;
      delete reply.intermediates;
      // The reply and the streamed values travel on different ports: wait for the stragglers so
      // the final result is sent after every intermediate one.
      if (received < expected) await new Promise<void>((resolve) => (allReceived = resolve));
      return reply;
    } finally {
      port1.close();
    }
  }

  #runOnPool(task: ThreadTask, transferList: MessagePort[], signal: StopSignal | undefined): Promise<ThreadReply> {
    // piscina takes any object with `aborted` and add/removeEventListener.
    return this.#pool.run(task, { transferList: transferList as never, signal: (signal ?? null) as AbortSignal | null }).then(undefined, (error: unknown) => {
      if (signal?.aborted) return failedReply(workerInfo(this.name), signal.reason, abortReason(signal));
      // The thread died (process.exit, an uncaught error outside the method, out of memory):
      // piscina replaces it; the task becomes a failed result.
      return failedReply(workerInfo(this.name), error, 'worker-crashed');
    });
  }

  /** For `await using`: the same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#pool.close({ force: true });
  }
}
