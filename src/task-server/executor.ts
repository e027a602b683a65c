import type { RunContext, TaskPayload, TaskReply } from '../methods/run.js';
import type { MethodSpec } from '../methods/spec.js';
import type { MethodKind } from './fit.js';

/**
 * Runs tasks somewhere: on the server's loop, on worker threads, in child processes, on remote
 * workers. `run` never rejects for a task's own failure; it resolves with a failed reply. When
 * `context.signal` aborts, the executor stops the work (terminates the thread, kills the process)
 * and resolves promptly with a reply whose failure reason is `timeout` or `cancelled`.
 */
export interface Executor {
  readonly name: string;
  /**
   * Runs tasks in this process's memory (so a memory object store is reachable from them).
   * @default false
   */
  readonly sharesMemory?: boolean;
  /**
   * The kinds of method it can run; the task server refuses, when it is built, a method of another
   * kind mapped to it. @default every kind (not checked)
   */
  readonly runs?: readonly MethodKind[];
  /**
   * Tasks it takes at once: what it runs at once (threads, processes, nodes), plus any it queues on
   * purpose (the allocation executor's lookahead). A local task server hands it no more than this: the rest wait in the server, first come first served, and a task's
   * `timeoutMs` starts when it is handed over, so it counts running time, not time queued in the
   * executor. Leave it undefined for an executor whose tasks should all be handed over at once
   * (BullMQ: its jobs wait in Redis for the workers, which time them: {@link timesTasks}). A server's default window is twice the sum
   * over its executors. @default undefined (no limit; counted as 32 for the window)
   */
  readonly capacity?: number;
  /**
   * Tell `listener` how many of `capacity` cannot take a task for now (workers being replaced
   * after a kill or a crash), each time that changes; the server then starts fewer tasks, so the
   * next task's `timeoutMs` does not count a replacement's start-up. @default never out of service
   */
  watchUnavailable?(listener: (count: number) => void): void;
  /**
   * Times each task's `timeoutMs` itself, where the task runs, from when it starts there (BullMQ:
   * when a worker takes the job, so the job's wait in Redis for a free worker does not count). The
   * task server then puts the timeout in `payload.timeoutMs` and arms no timer of its own; the
   * executor answers a task that ran past it with a failed reply of reason `timeout`.
   * @default false (the server arms the timer when it hands the task over)
   */
  readonly timesTasks?: boolean;
  run(spec: MethodSpec, payload: TaskPayload, context: RunContext): Promise<TaskReply>;
  /** Stop workers; tasks still running are abandoned. */
  close(): Promise<void>;
}
