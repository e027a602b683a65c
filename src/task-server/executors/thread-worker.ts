/**
 * The entry module of each worker thread of the threads executor. Tasks arrive in batches on the
 * thread's port and run one after the other, in order; tasks that arrive meanwhile are read
 * between two tasks (`receiveMessageOnPort`), so a busy thread never waits on its event loop for
 * the next one. Before a task runs, its slot is claimed in the shared table, which is how the
 * server learns that (and when) it started; a slot the server took back is skipped.
 *
 * Each reply is posted as its task ends, before the next task starts: a reply held back to be
 * batched would be lost if the next task were then stopped by terminating the thread.
 */
import { receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import { loadModuleMethod } from '../../methods/load.js';
import { failedReply, runMethod, type TaskReply, workerInfo } from '../../methods/run.js';
import { openConfiguredStores } from '../../proxy/configured-stores.js';
import type { ThreadMessage, ThreadTask, ThreadWorkerData } from './thread-protocol.js';
import { ThreadSlots } from './thread-slots.js';

const data = workerData as ThreadWorkerData | null;
const worker = workerInfo(`thread-${threadId}`);
// Imported outside a thread (a probe of what the module loads), it only declares.
if (data?.port) serve(data);

function serve({ port, slots: buffer, stores }: ThreadWorkerData): void {
  const slots = new ThreadSlots(buffer);
  const post = (message: ThreadMessage): void => port.postMessage(message);
  // Opened with the first task, not while this module loads: tsx's loader is not yet ready for a
  // dynamic import then.
  let storesOpened: Promise<unknown> | null = null;

  /** Tasks received and not yet run, from `head`. */
  let queue: (ThreadTask | undefined)[] = [];
  let head = 0;
  let draining = false;

  function receive(batch: ThreadTask[]): void {
    for (const task of batch) queue.push(task);
  }

  /** Take in every batch already posted to this thread, without yielding to the event loop. */
  function receiveArrived(): void {
    for (let arrived = receiveMessageOnPort(port); arrived; arrived = receiveMessageOnPort(port)) receive(arrived.message as ThreadTask[]);
  }

  async function drain(): Promise<void> {
    draining = true;
    try {
      for (;;) {
        if (head === queue.length) {
          queue = [];
          head = 0;
          receiveArrived();
          if (queue.length === 0) return;
        }
        const task = queue[head]!;
        queue[head++] = undefined;
        if (!slots.claim(task.slot, task.use)) continue;
        const reply = await runTask(task);
        post({ kind: 'reply', slot: task.slot, use: task.use, reply });
        receiveArrived();
      }
    } finally {
      draining = false;
    }
  }

  async function runTask(task: ThreadTask): Promise<TaskReply> {
    let target;
    try {
      await (storesOpened ??= openConfiguredStores(stores));
      target = await loadModuleMethod(task.module, task.exportName);
    } catch (error) {
      return failedReply(worker, error);
    }
    if (!task.stream) return runMethod(target, task.payload, worker);
    const { slot, use } = task;
    return runMethod(target, task.payload, worker, { onIntermediate: (item) => post({ kind: 'item', slot, use, item }) });
  }

  port.on('message', (batch: ThreadTask[]) => {
    receive(batch);
    if (!draining) void drain();
  });
  post({ kind: 'ready' });
}
