/**
 * What the threads executor and its worker threads say to each other on each thread's port: the
 * server posts tasks in batches (an array per message, every task handed over in one tick); the
 * thread posts back one message per streamed value and per finished task, tagged by slot.
 */
import type { MessagePort } from 'node:worker_threads';
import type { IntermediateReply, TaskPayload, TaskReply } from '../../methods/envelope.js';
import type { StoreConfig } from '../../proxy/store.js';

/** What each thread gets at start. */
export interface ThreadWorkerData {
  /** The task server's object stores, opened in the thread so references can name them by id. */
  stores: StoreConfig[];
  /** The thread's slot table ({@link ThreadSlots}). */
  slots: SharedArrayBuffer;
  /** Tasks arrive and replies leave on this port. */
  port: MessagePort;
  /** The worker module, loaded by the bootstrap (see thread-start.ts). */
  entry: string;
}

/** One task handed to a thread, in the slot `slot` of its table at use `use`. */
export interface ThreadTask {
  slot: number;
  use: number;
  module: string;
  exportName: string;
  payload: TaskPayload;
  /** Post streamed values as they are yielded (a `stream` generator with a listener). */
  stream: boolean;
}

export type ThreadMessage =
  /** The thread has loaded its module and listens for tasks. */
  | { kind: 'ready' }
  | { kind: 'item'; slot: number; use: number; item: IntermediateReply }
  | { kind: 'reply'; slot: number; use: number; reply: TaskReply };
