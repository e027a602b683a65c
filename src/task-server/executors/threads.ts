import { availableParallelism } from 'node:os';
import type { TaskPayload, TaskReply } from '../../methods/envelope.js';
import { abortReason, failedReply, type RunContext, workerInfo } from '../../methods/run.js';
import type { MethodSpec } from '../../methods/spec.js';
import { ColmenaTimeoutError, invalidArgument, TaskTimeoutError } from '../../common/errors.js';
import { setLongTimeout } from '../../common/limits.js';
import type { StopSignal } from '../../common/stop-signal.js';
import type { Executor } from '../executor.js';
import type { MethodKind } from '../fit.js';
import { unpinnable } from './accelerators.js';
import { processStores } from '../../proxy/store-registry.js';
import { type HandedTask, type ThreadEvents, WorkerThread } from './thread-handle.js';

export interface ThreadsExecutorOptions {
  /** Worker threads to keep. @default the machine's available parallelism */
  threads?: number;
  /**
   * Tasks each thread takes at once: it runs them one after the other and reads the next without
   * waiting on a message, so short tasks do not pay a hand-off each. A task's `timeoutMs` counts
   * from when it starts on its thread, not while it waits there. @default 16
   */
  depth?: number;
  /**
   * Most time a task may wait queued on its thread (from when it is handed over) before it starts.
   * Past it the task is taken back and ends as timed out without having started (reason
   * `timeout`). A task server's own `queueTimeoutMs` bounds only the wait for a place here, so give
   * the same value to both. @default undefined (wait as long as it takes)
   */
  queueTimeoutMs?: number;
}

/** A thread shares its queue with an idle one once it holds this many tasks (the one running and one waiting behind it). */
const MIN_LOAD_TO_SHARE = 2;
/** While a task has not started, how often (at least) its timer looks again. */
const MIN_RECHECK_MS = 10;
/** A thread that dies before it is up is started again after this long, not at once (a broken install would spin). */
const RESTART_AFTER_EARLY_DEATH_MS = 1_000;

/** A task as this executor tracks it. */
interface Task extends HandedTask {
  thread: WorkerThread<Task> | null;
  readonly taskId: string;
  /** `performance.now()` at hand-over. */
  readonly handedAt: number;
  readonly timeoutMs: number | undefined;
  readonly signal: StopSignal | undefined;
  readonly resolve: (reply: TaskReply) => void;
  onAbort: (() => void) | null;
  clearTimer: (() => void) | null;
  settled: boolean;
}

/**
 * Runs module methods on a pool of worker threads, up to `depth` tasks queued on each, so a thread
 * busy with short tasks never waits for a message between two of them. Tasks go to the
 * least-loaded thread; those handed to a busy thread in one turn of the event loop travel in one
 * message; a thread that runs out of work takes half the unstarted tasks of the busiest one. It
 * times each task's `timeoutMs` itself, from when the task starts on its thread (a shared slot
 * table says when), so time queued there never counts. Cancelling a task that has not started
 * takes it back at once; stopping a running one (cancel, timeout) terminates its thread, which is
 * replaced, and the tasks queued behind it move to the other threads, as do those of a thread that
 * dies. Executables belong on the `inline` or `processes` executors: a terminated thread cannot
 * kill the program it started.
 */
export class ThreadsExecutor implements Executor {
  readonly name: string;
  /** Not executables: a terminated thread cannot kill the program it started. */
  readonly runs: readonly MethodKind[] = ['module-function'];
  /** Threads × depth: what the task server hands over at once. */
  readonly capacity: number;
  readonly timesTasks = true;
  readonly #depth: number;
  readonly #queueTimeoutMs: number | undefined;
  readonly #threads: WorkerThread<Task>[] = [];
  /** Tasks handed over that no thread has room for (more than `capacity` at once, or moved off an ended thread), in hand-over order. */
  readonly #waiting: Task[] = [];
  /** Threads started in place of one that ended, not up yet. */
  readonly #replacements = new Set<WorkerThread<Task>>();
  /** Threads being terminated, for `close()` to wait on. */
  readonly #ending = new Set<Promise<void>>();
  readonly #unavailableListeners: ((count: number) => void)[] = [];
  readonly #events: ThreadEvents<Task>;
  /** Threads that died before they were up, to be started again after a pause. */
  #restartsDue = 0;
  #handedOver = 0;
  #closing = false;
  #closed: Promise<void> | null = null;

  constructor(name = 'threads', options: ThreadsExecutorOptions = {}) {
    this.name = name;
    const threads = options.threads ?? availableParallelism();
    const depth = options.depth ?? 16;
    if (!Number.isSafeInteger(threads) || threads < 1) throw invalidArgument(`executor '${name}'`, 'threads', 'a whole number of threads, at least 1', options.threads);
    if (!Number.isSafeInteger(depth) || depth < 1) throw invalidArgument(`executor '${name}'`, 'depth', 'a whole number of tasks per thread, at least 1', options.depth);
    const { queueTimeoutMs } = options;
    if (queueTimeoutMs !== undefined && !(queueTimeoutMs > 0 && queueTimeoutMs <= Number.MAX_SAFE_INTEGER)) {
      throw invalidArgument(`executor '${name}'`, 'queueTimeoutMs', 'a positive number of milliseconds (or undefined to wait as long as it takes)', queueTimeoutMs);
    }
    this.#depth = depth;
    this.#queueTimeoutMs = queueTimeoutMs;
    this.capacity = threads * depth;
    this.#events = {
      ready: (thread) => this.#onReady(thread),
      replied: (task, reply, thread) => {
        this.#settle(task, reply);
        this.#placeWaiting();
        if (thread.load === 0) this.#rebalance(thread);
      },
      died: (thread, error) => this.#onDied(thread, error),
    };
    for (let i = 0; i < threads; i++) this.#threads.push(this.#startThread());
  }

  watchUnavailable(listener: (count: number) => void): void {
    this.#unavailableListeners.push(listener);
  }

  /**
   * Tasks handed over beyond what the threads hold (more than `capacity` at once), waiting here
   * for room on a thread. A task server keeps it at 0. Like a task queued on a thread, one waiting
   * here has not started, so its `timeoutMs` is not running.
   */
  get queued(): number {
    return this.#waiting.length;
  }

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
    if (this.#closing) return Promise.resolve(this.#closedReply());
    const { signal } = context;
    if (signal?.aborted) return Promise.resolve(failedReply(workerInfo(this.name), signal.reason, abortReason(signal)));
    return new Promise<TaskReply>((resolve) => {
      const task: Task = {
        module: spec.module,
        exportName: spec.exportName,
        payload,
        onIntermediate: payload.generator === 'stream' ? context.onIntermediate : undefined,
        order: this.#handedOver++,
        thread: null,
        slot: -1,
        use: 0,
        taskId: context.taskId ?? payload.task?.taskId ?? '(unnamed)',
        handedAt: performance.now(),
        timeoutMs: payload.timeoutMs,
        signal,
        resolve,
        onAbort: null,
        clearTimer: null,
        settled: false,
      };
      if (signal) {
        task.onAbort = () => this.#abort(task, signal);
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
      // Placed first: a queue timeout may take it back from its thread.
      this.#place(task);
      const wait = this.#queueTimeoutMs;
      if (task.timeoutMs !== undefined || wait !== undefined) this.#armTimer(task, Math.min(task.timeoutMs ?? Infinity, wait ?? Infinity));
    });
  }

  /**
   * On the least-loaded thread with room (a thread still starting counts as full), else in line
   * here, in hand-over order (a task moved off a thread goes ahead of those handed over after it).
   */
  #place(task: Task): void {
    if (this.#closing) {
      this.#settle(task, this.#closedReply());
      return;
    }
    const waiting = this.#waiting;
    if (waiting.length > 0 && waiting[waiting.length - 1]!.order > task.order) {
      let at = waiting.length;
      while (at > 0 && waiting[at - 1]!.order > task.order) at--;
      waiting.splice(at, 0, task);
      this.#placeWaiting();
      return;
    }
    if (!this.#assignLeastLoaded(task)) waiting.push(task);
  }

  /** Onto the least-loaded thread with room (one still starting counts as full); `false` when none has room. */
  #assignLeastLoaded(task: Task): boolean {
    let best: WorkerThread<Task> | null = null;
    let bestLoad = Infinity;
    for (const thread of this.#threads) {
      if (!thread.hasRoom) continue;
      const load = thread.ready ? thread.load : thread.load + this.#depth;
      if (load < bestLoad) {
        best = thread;
        bestLoad = load;
      }
    }
    if (best === null) return false;
    best.assign(task);
    return true;
  }

  /** The line here, first in first, onto threads while they have room (not through #place: it would put the first back in line). */
  #placeWaiting(): void {
    const waiting = this.#waiting;
    while (waiting.length > 0 && this.#assignLeastLoaded(waiting[0]!)) waiting.shift();
  }

  /**
   * A thread that ran out of tasks takes the newer half of the unstarted tasks of the busiest one,
   * so tasks queued behind a long task do not wait while a thread idles.
   */
  #rebalance(idle: WorkerThread<Task>): void {
    if (!idle.ready || !idle.hasRoom) return;
    let busiest: WorkerThread<Task> | null = null;
    for (const thread of this.#threads) if (thread !== idle && thread.load >= MIN_LOAD_TO_SHARE && thread.load > (busiest?.load ?? 0)) busiest = thread;
    if (!busiest) return;
    for (const task of busiest.takeBackNewest(Math.floor(busiest.load / 2))) idle.assign(task);
  }

  /** Put tasks taken back from a thread on the others (or its replacement), in the order they were handed over. */
  #move(tasks: Task[]): void {
    tasks.sort((a, b) => a.order - b.order);
    for (const task of tasks) this.#place(task);
  }

  /**
   * The task's timer, armed at hand-over. When it fires, the task has either not started (end it
   * if it waited past queueTimeoutMs, else look again later) or started on its thread (end it if
   * it ran past timeoutMs, else look again when it would be due).
   */
  #armTimer(task: Task, delayMs: number): void {
    task.clearTimer = setLongTimeout(() => {
      task.clearTimer = null;
      if (!task.settled) this.#checkTimes(task);
    }, delayMs);
  }

  #checkTimes(task: Task): void {
    const { timeoutMs } = task;
    const ranMs = task.thread?.slots.runningForMs(task.slot, task.use) ?? null;
    if (ranMs !== null) {
      if (timeoutMs === undefined) return;
      if (ranMs < timeoutMs) return this.#armTimer(task, timeoutMs - ranMs);
      return this.#stopRunning(task, failedReply(workerInfo(this.name), new TaskTimeoutError(task.taskId, timeoutMs), 'timeout'));
    }
    const queueTimeoutMs = this.#queueTimeoutMs;
    let next = timeoutMs === undefined ? Infinity : Math.max(timeoutMs, MIN_RECHECK_MS);
    if (queueTimeoutMs !== undefined) {
      // Not while its thread starts up: that is no turn it could have had.
      const thread = task.thread;
      const waitedMs = thread && !thread.ready ? 0 : performance.now() - Math.max(task.handedAt, thread?.readyAt ?? -Infinity);
      if (waitedMs >= queueTimeoutMs) {
        const error = new ColmenaTimeoutError(`its turn on a worker thread (ThreadsExecutor queueTimeoutMs); task ${task.taskId} never started`, queueTimeoutMs);
        if (this.#takeBack(task)) return this.#settle(task, failedReply(workerInfo(this.name), error, 'timeout'));
        // It started just now: only its timeoutMs bounds it from here.
        return this.#checkTimes(task);
      }
      next = Math.min(next, queueTimeoutMs - waitedMs);
    }
    this.#armTimer(task, next);
  }

  /** Take back a task that has not started, from its thread or from the line here; `false` once it has started. */
  #takeBack(task: Task): boolean {
    const thread = task.thread;
    if (thread === null) {
      const index = this.#waiting.indexOf(task);
      if (index >= 0) this.#waiting.splice(index, 1);
      return true;
    }
    if (!thread.takeBack(task)) return false;
    // Its place on the thread goes to a task waiting for one.
    this.#placeWaiting();
    return true;
  }

  #abort(task: Task, signal: StopSignal): void {
    if (task.settled) return;
    const reply = failedReply(workerInfo(this.name), signal.reason, abortReason(signal));
    // Not started: it never will be. Running: its thread is terminated.
    if (this.#takeBack(task)) this.#settle(task, reply);
    else this.#stopRunning(task, reply);
  }

  /** End a running task by terminating its thread; the tasks queued behind it move. */
  #stopRunning(task: Task, reply: TaskReply): void {
    const thread = task.thread!;
    const { queued, running } = thread.retire();
    if (running === task) {
      this.#settle(task, reply);
      this.#replace(thread);
    } else {
      // It ended meanwhile (its reply was on the way, now handled): the thread runs on.
      thread.reopen();
    }
    this.#move(queued);
  }

  #onDied(thread: WorkerThread<Task>, error: Error): void {
    const { queued, running } = thread.retire();
    if (running) this.#settle(running, failedReply(workerInfo(this.name), error, 'worker-crashed'));
    if (this.#closing) {
      for (const task of queued) this.#settle(task, this.#closedReply());
      return;
    }
    if (!thread.ready) {
      // Died before it was up: its tasks fail rather than move to a thread that may die the same way.
      for (const task of queued) this.#settle(task, failedReply(workerInfo(this.name), error, 'worker-crashed'));
      this.#replace(thread, RESTART_AFTER_EARLY_DEATH_MS);
      return;
    }
    this.#replace(thread);
    this.#move(queued);
  }

  #startThread(): WorkerThread<Task> {
    return new WorkerThread<Task>(this.#depth, processStores.configs(), this.#events);
  }

  /** Terminate `old` (if still up) and start a thread in its place, now or after `delayMs`. */
  #replace(old: WorkerThread<Task>, delayMs = 0): void {
    const ending = old.terminate();
    this.#ending.add(ending);
    void ending.then(() => this.#ending.delete(ending));
    this.#replacements.delete(old);
    const start = (): void => {
      if (this.#closing) return;
      const fresh = this.#startThread();
      this.#threads[this.#threads.indexOf(old)] = fresh;
      this.#replacements.add(fresh);
      this.#reportUnavailable();
    };
    if (delayMs === 0) {
      start();
      return;
    }
    this.#restartsDue++;
    this.#reportUnavailable();
    setTimeout(() => {
      this.#restartsDue--;
      start();
    }, delayMs).unref();
  }

  #onReady(thread: WorkerThread<Task>): void {
    if (this.#replacements.delete(thread)) this.#reportUnavailable();
    this.#placeWaiting();
    // Tasks handed over while it started went to the threads already up: take its share.
    if (thread.load === 0) this.#rebalance(thread);
  }

  /** Capacity out of service: `depth` per thread being replaced (or waiting to be restarted). */
  #reportUnavailable(): void {
    const down = this.#replacements.size + this.#restartsDue;
    for (const listener of this.#unavailableListeners) listener(Math.min(down * this.#depth, this.capacity));
  }

  #settle(task: Task, reply: TaskReply): void {
    if (task.settled) return;
    task.settled = true;
    task.clearTimer?.();
    if (task.onAbort) task.signal!.removeEventListener('abort', task.onAbort);
    task.resolve(reply);
  }

  #closedReply(): TaskReply {
    return failedReply(workerInfo(this.name), new Error(`The threads executor '${this.name}' was closed before the task finished`), 'cancelled');
  }

  /** For `await using`: the same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Terminate the threads; every task still in hand ends at once with a failed reply. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      for (const thread of this.#threads) {
        const { queued, running } = thread.retire();
        for (const task of queued) this.#settle(task, this.#closedReply());
        if (running) this.#settle(running, this.#closedReply());
        this.#ending.add(thread.terminate());
      }
      for (const task of this.#waiting.splice(0)) this.#settle(task, this.#closedReply());
      await Promise.all(this.#ending);
    })();
    return this.#closed;
  }
}
