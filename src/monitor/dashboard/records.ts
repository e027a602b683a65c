/**
 * What the dashboard is fed: the run log's records (same shape, same meaning), plus two that only a
 * live view needs. A campaign elsewhere publishes these through Redis as JSON lines.
 */
import type { RunLogRecord } from '../run-log/records.js';

/**
 * The stack of a failed final result. The run log leaves stacks out (they are long and it keeps
 * every result); the dashboard shows the recent ones.
 */
export interface StackRecord {
  type: 'stack';
  t: number;
  taskId: string;
  stack: string;
}

/**
 * How many tasks a task server has in hand (taken off the queue, not yet answered), recorded at
 * each batch when it changed. With the server's worker count it tells queued tasks from running ones.
 */
export interface LoadRecord {
  type: 'load';
  t: number;
  server: string;
  inFlight: number;
}

export type DashboardRecord = RunLogRecord | StackRecord | LoadRecord;

/** Stacks longer than this are cut (the top of a stack says the most). */
export const MAX_STACK_CHARS = 8_000;
