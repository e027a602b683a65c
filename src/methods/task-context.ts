/**
 * What a running method may learn about its own task, for methods declared with
 * `{ taskContext: true }` (Colmena passes `_resources` to functions that ask for them).
 *
 * Read it with {@link taskContext} from inside the method (or anything it calls, across awaits).
 * It is held in an AsyncLocalStorage kept on `globalThis`, so a method that imports `colmena`
 * from another copy of the package (dist beside src) still sees the one the worker set.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { InvalidStateError } from '../common/errors.js';
import type { StopSignal } from '../common/stop-signal.js';
import type { ResourceRequirementsInit } from '../models/resources.js';

export interface TaskContext {
  readonly taskId: string;
  readonly method: string;
  /** The topic the task's result goes to. */
  readonly topic: string;
  /** What the task asked for (`nodeCount`, `cpuProcesses`, `cpuThreads`), defaults filled. */
  readonly resources: Readonly<Required<ResourceRequirementsInit>>;
  /**
   * Aborted when the task is cancelled or times out. On the inline executor this is the only way
   * a plain function learns of it; on threads and processes the worker is also stopped.
   */
  readonly signal: StopSignal;
}

/** The part of the context that travels in the worker envelope (the signal is made on each side). */
export interface TaskIdentity {
  taskId: string;
  topic: string;
}

const KEY = Symbol.for('colmena.taskContext');
const holder = globalThis as { [KEY]?: AsyncLocalStorage<TaskContext> };
const storage: AsyncLocalStorage<TaskContext> = (holder[KEY] ??= new AsyncLocalStorage<TaskContext>());

/**
 * The context of the task the calling method runs for.
 * @throws InvalidStateError when called outside a method declared with `{ taskContext: true }`.
 * @example
 * export async function simulate(x: number) {
 *   const { resources, signal } = taskContext();
 *   return runMpi(x, { ranks: resources.cpuProcesses, signal });
 * }
 */
export function taskContext(): TaskContext {
  const context = storage.getStore();
  if (context === undefined) {
    throw new InvalidStateError(
      'taskContext() was called outside a task method that asked for it. Declare the method with { taskContext: true } ' +
        "(e.g. moduleMethod(url, 'simulate', { taskContext: true })) and call taskContext() while it runs.",
    );
  }
  return context;
}

/** Run `fn` with `context` as the current task's context. */
export function runWithTaskContext<T>(context: TaskContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** A stop signal that never fires, for workers that are stopped from outside instead. */
export const NEVER_STOPPED: StopSignal = Object.freeze({
  aborted: false,
  reason: undefined,
  addEventListener() {},
  removeEventListener() {},
  throwIfAborted() {},
});
