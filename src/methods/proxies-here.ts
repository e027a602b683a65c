import { failedReply, type TaskPayload, type TaskReply, workerInfo } from './run.js';
import { connectStore } from '../proxy/connect.js';
import { type ProxyTimings, proxyIfLarge, resolveInputs } from '../proxy/proxy.js';

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
    const inputs = await resolveInputs(payload.inputs, timings);
    const resolveSeconds = (performance.now() - started) / 1000;
    const reply = await run({ ...rest, inputs });
    reply.asyncResolveProxies = resolveSeconds;
    reply.proxy = { ...timings, ...reply.proxy };
    if (reply.encodedValue !== null && valueProxy) {
      reply.encodedValue = await proxyIfLarge(reply.encodedValue, connectStore(valueProxy.store), valueProxy.thresholdBytes, reply.proxy);
    }
    return reply;
  } catch (error) {
    return failedReply(workerInfo(workerName), error);
  }
}
