import { ColmenaTimeoutError, InvalidArgumentError } from './errors.js';
import type { StopSignal } from './stop-signal.js';

/** Options every wait in the library accepts. */
export interface WaitOptions {
  /** Give up after this many milliseconds, rejecting with a ColmenaTimeoutError. */
  timeoutMs?: number;
  /** Give up when this signal (an `AbortSignal`, or anything shaped like one) aborts, rejecting with its reason. */
  signal?: StopSignal;
}

/**
 * Wire a pending wait to a timeout and an abort signal. `cancel` is called once, with the error
 * to reject with, if either fires first; the returned function detaches both (call it when the
 * wait settles some other way) so no timer or listener outlives the wait.
 */
export function watchWait(what: string, options: WaitOptions, cancel: (reason: unknown) => void): () => void {
  const { timeoutMs, signal } = options;
  if (timeoutMs === undefined && signal === undefined) return noop;
  let timer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    detach();
    cancel(signal!.reason);
  };
  const detach = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  if (timeoutMs !== undefined) {
    if (!(timeoutMs >= 0)) throw new InvalidArgumentError(`timeoutMs must be a non-negative number, got ${timeoutMs}`);
    timer = setTimeout(() => {
      detach();
      cancel(new ColmenaTimeoutError(what, timeoutMs));
    }, timeoutMs);
  }
  signal?.addEventListener('abort', onAbort, { once: true });
  return detach;
}

/** Reject at once if the signal has already aborted. */
export function throwIfAborted(signal: StopSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

function noop(): void {}
