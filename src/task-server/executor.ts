import type { MethodSpec } from '../methods/spec.js';
import type { TaskPayload, TaskReply } from '../methods/run.js';

/**
 * Runs tasks somewhere: on the server's loop, on worker threads, in child processes, on remote
 * workers. `run` never rejects for a task's own failure; it resolves with a failed reply.
 */
export interface Executor {
  readonly name: string;
  run(spec: MethodSpec, payload: TaskPayload): Promise<TaskReply>;
  /** Stop workers; tasks still running are abandoned. */
  close(): Promise<void>;
}
