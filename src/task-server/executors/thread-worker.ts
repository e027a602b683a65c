/**
 * The entry module of each worker thread (loaded by piscina): imports the named method once and
 * runs tasks with it. Streamed values go back on the task's own MessagePort.
 */
import { type MessagePort, threadId } from 'node:worker_threads';
import { loadModuleMethod } from '../../methods/load.js';
import { failedReply, runMethod, type TaskPayload, type TaskReply, workerInfo } from '../../methods/run.js';

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

export default async function runThreadTask(task: ThreadTask): Promise<ThreadReply> {
  let target;
  try {
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
