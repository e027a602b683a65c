/**
 * The entry module of each worker thread (loaded by piscina): imports the named method once and
 * runs tasks with it.
 */
import { threadId } from 'node:worker_threads';
import { loadModuleMethod } from '../methods/load.js';
import { runMethod, type TaskPayload, type TaskReply, workerInfo } from '../methods/run.js';
import { failureFromError } from '../models/failure.js';
import { emptyReply } from './inline-executor.js';

export interface ThreadTask {
  module: string;
  exportName: string;
  payload: TaskPayload;
}

const worker = workerInfo(`thread-${threadId}`);

export default async function runThreadTask(task: ThreadTask): Promise<TaskReply> {
  let fn;
  try {
    fn = await loadModuleMethod(task.module, task.exportName);
  } catch (error) {
    return { ...emptyReply(worker), failure: failureFromError(error) };
  }
  return runMethod(fn, task.payload, worker);
}
