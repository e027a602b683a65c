import { secondsSince } from '../models/clock.js';
import { failedReply, type TaskPayload, type TaskReply, workerInfo } from './run.js';
import { type ProxyTimings, proxyValueIfLarge, resolveInputs, storeIdsIn } from '../proxy/proxy.js';
import { processStores } from '../proxy/store-registry.js';

/**
 * Whether a task's references must be resolved on the task server's own thread before it goes to
 * a worker in another thread or process: they name a store that lives in this process's memory
 * (which no other thread can reach), or one this process does not know (so the task fails here,
 * naming the id, without reaching a worker).
 */
export function needsProxiesResolvedHere(payload: TaskPayload): boolean {
  return storeIdsIn(payload.inputs, payload.valueProxy).some((id) => !processStores.has(id) || processStores.get(id).config() === null);
}

/**
 * Run a task on a worker that cannot reach its object store (a memory store seen from a worker
 * thread or child process): fetch the inputs here and hand the bytes over, then store a large
 * value here once it comes back.
 */
export async function runWithProxiesResolvedHere(
  payload: TaskPayload,
  workerName: string,
  run: (payload: TaskPayload) => Promise<TaskReply>,
): Promise<TaskReply> {
  const { valueProxy, ...rest } = payload;
  const timings: ProxyTimings = {};
  const started = performance.now();
  try {
    // Checked before the task runs, so an unknown store id costs no work.
    if (valueProxy) processStores.get(valueProxy.storeId, "the request's value_proxy");
    const inputs = await resolveInputs(payload.inputs, timings);
    const resolveSeconds = secondsSince(started);
    const reply = await run({ ...rest, inputs });
    reply.asyncResolveProxies = resolveSeconds;
    reply.proxy = { ...timings, ...reply.proxy };
    if (reply.encodedValue !== null && valueProxy) {
      reply.encodedValue = await proxyValueIfLarge(reply.encodedValue, valueProxy, reply.proxy);
    }
    return reply;
  } catch (error) {
    return failedReply(workerInfo(workerName), error);
  }
}
