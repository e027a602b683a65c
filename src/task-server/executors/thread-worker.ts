/**
 * The entry module of each worker thread (loaded by piscina): imports the named method once and
 * runs tasks with it. Streamed values go back on the task's own MessagePort.
 */
import { type MessagePort, threadId, workerData } from 'node:worker_threads';
import { loadModuleMethod } from '../../methods/load.js';
import type { TaskPayload, TaskReply } from '../../methods/envelope.js';
import { failedReply, runMethod, workerInfo } from '../../methods/run.js';
import type { StoreConfig } from '../../proxy/store.js';
import { openConfiguredStores } from '../../proxy/configured-stores.js';

/** What the pool hands each thread at start. */
export interface ThreadWorkerData {
  /** The task server's object stores, opened here so references can name them by id. */
  stores: StoreConfig[];
}

export interface ThreadTask {
  module: string;
  exportName: string;
  payload: TaskPayload;
  /** Present for streaming generators: where intermediate values go. */
  port?: MessagePort;
}

/** The reply plus how many intermediate values were posted, so the pool can wait for all of them. */
export type ThreadReply = TaskReply & { intermediates?: number };

const worker = workerInfo(`thread-${threadId}`);
// Opened with the first task, not while this module loads: tsx's loader is not yet ready for a
// dynamic import then.
let storesOpened: Promise<unknown> | null = null;

export default async function runThreadTask(task: ThreadTask): Promise<ThreadReply> {
  let target;
  try {
    await (storesOpened ??= openConfiguredStores((workerData as ThreadWorkerData | null)?.stores ?? []));
    target = await loadModuleMethod(task.module, task.exportName);
  } catch (error) {
    return failedReply(worker, error);
  }
  const port = task.port;
  if (!port) return runMethod(target, task.payload, worker);
  let intermediates = 0;
  const reply: ThreadReply = await runMethod(target, task.payload, worker, {
    onIntermediate: (item) => {
      intermediates++;
      port.postMessage(item);
    },
  });
  reply.intermediates = intermediates;
  port.close();
  return reply;
}
