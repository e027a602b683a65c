import type { TaskReply } from '../methods/envelope.js';
import { abortReason, failedReply } from '../methods/run.js';
import type { WorkerInformation } from '../models/failure.js';
import type { StopSignal } from '../common/stop-signal.js';

/** Resolves with a timed-out or cancelled reply when `signal` aborts; `dispose` detaches it. */
export function replyOnAbort(signal: StopSignal | undefined, worker: WorkerInformation): { reply: Promise<TaskReply>; dispose(): void } {
  if (!signal) return { reply: new Promise<TaskReply>(() => {}), dispose() {} };
  let onAbort: () => void = () => {};
  const reply = new Promise<TaskReply>((resolve) => {
    onAbort = () => resolve(failedReply(worker, signal.reason, abortReason(signal)));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return { reply, dispose: () => signal.removeEventListener('abort', onAbort) };
}
