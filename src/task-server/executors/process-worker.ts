/**
 * The entry module of each child process of the `processes` executor: runs one task at a time
 * sent over IPC, streaming intermediate values back, and stops a task when told to.
 */
import { hostname } from 'node:os';
import { runWithPlacement } from '../../methods/launch-placement.js';
import { loadModuleMethod } from '../../methods/load.js';
import type { IntermediateReply, TaskPayload, TaskReply } from '../../methods/envelope.js';
import { failedReply, runMethod, workerInfo } from '../../methods/run.js';
import type { StoreConfig } from '../../proxy/store.js';
import { openConfiguredStores } from '../../proxy/configured-stores.js';

export type ToChild =
  | { type: 'stores'; configs: StoreConfig[] }
  /** This child's accelerators (already in its environment): recorded on worker info, exported to its executables. */
  | { type: 'pin'; gpuIds: string[] }
  | { type: 'run'; id: number; module: string; exportName: string; payload: TaskPayload }
  | { type: 'abort'; id: number; reason: { name: string; message: string } };

export type FromChild =
  | { type: 'ready' }
  | { type: 'intermediate'; id: number; item: IntermediateReply }
  | { type: 'reply'; id: number; reply: TaskReply };

let worker = workerInfo(`process-${process.pid}`);
let gpuIds: readonly string[] = [];
const controllers = new Map<number, AbortController>();
/** The task server's object stores, sent over IPC before any task (never in the environment). */
let storesOpened: Promise<unknown> = Promise.resolve();

function send(message: FromChild): void {
  process.send!(message);
}

async function run(message: Extract<ToChild, { type: 'run' }>): Promise<void> {
  const controller = new AbortController();
  controllers.set(message.id, controller);
  let reply: TaskReply;
  try {
    await storesOpened;
    const target = await loadModuleMethod(message.module, message.exportName);
    const running = (): Promise<TaskReply> =>
      runMethod(target, message.payload, worker, {
        signal: controller.signal,
        onIntermediate: (item) => send({ type: 'intermediate', id: message.id, item }),
      });
    // An executable's launch starts from a base environment without the device variables: a
    // one-node placement on this host with this child's devices exports them to it.
    const resources = message.payload.resources;
    reply = await (gpuIds.length === 0
      ? running()
      : runWithPlacement(
          { hosts: [hostname()], ranksPerNode: resources?.cpuProcesses ?? 1, coresPerNode: (resources?.cpuProcesses ?? 1) * (resources?.cpuThreads ?? 1), gpuIds },
          running,
        ));
  } catch (error) {
    reply = failedReply(worker, error);
  } finally {
    controllers.delete(message.id);
  }
  send({ type: 'reply', id: message.id, reply });
}

process.on('message', (message: ToChild) => {
  if (message.type === 'stores') storesOpened = openConfiguredStores(message.configs);
  else if (message.type === 'pin') {
    gpuIds = message.gpuIds;
    worker = { ...worker, gpu_ids: [...gpuIds] };
  } else if (message.type === 'run') void run(message);
  else {
    // Rebuild the reason so the reply names the timeout or the cancellation.
    const reason = Object.assign(new Error(message.reason.message), { name: message.reason.name });
    controllers.get(message.id)?.abort(reason);
  }
});
// The parent going away means this worker is no longer wanted.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
