import { secondsSince } from '../models/clock.js';
import type { StopSignal } from '../common/stop-signal.js';
import type { Encoded } from '../models/serialization.js';
import type { IntermediateReply, TaskPayload } from './envelope.js';

export function isIterator(value: unknown): value is AsyncIterator<unknown> | Iterator<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Iterator<unknown>).next === 'function' &&
    (Symbol.asyncIterator in value || Symbol.iterator in value)
  );
}

export interface DrainOptions {
  signal?: StopSignal;
  onIntermediate?: (item: IntermediateReply) => void;
  /** `performance.now()` when the method started, for each item's `running`. */
  started: number;
  encode: (value: unknown) => Encoded | null;
}

/**
 * Run a generator to its end as the payload's mode says. Streaming sends each yield the moment it
 * is yielded (nothing is held back, so nothing is lost to a timeout or a cancel) and returns the
 * generator's return value, `null` when there is none — as Colmena does.
 */
export async function drainGenerator(iterator: AsyncIterator<unknown> | Iterator<unknown>, payload: TaskPayload, options: DrainOptions): Promise<unknown> {
  const mode = payload.generator;
  if (mode === undefined) {
    await iterator.return?.();
    throw new TypeError(
      `Method '${payload.method}' returned a generator. Declare how to deliver its yields: ` +
        `moduleMethod(url, '${payload.method}', { generator: 'stream' }) (or 'collect', 'collect-with-return').`,
    );
  }
  const { signal, onIntermediate, started, encode } = options;
  const topic = payload.streamTopic;
  const emit = (value: unknown): void => {
    const mark = performance.now();
    // A yielded `undefined` is Python's `None`: sent as null, like any other yield.
    const encodedValue = encode(value === undefined ? null : value)!;
    const item: IntermediateReply = { encodedValue, running: secondsSince(started, mark), serializeResults: secondsSince(mark) };
    if (topic !== undefined) item.topic = topic;
    onIntermediate?.(item);
  };
  const yields: unknown[] = [];
  const stopped = signal ? stopPromise(signal) : null;
  try {
    for (;;) {
      signal?.throwIfAborted();
      const pending = iterator.next();
      // A stop ends the wait for the next item at once, not when the generator next yields.
      const step = stopped ? await Promise.race([pending, stopped.promise]) : await pending;
      if (step.done) {
        if (mode === 'collect') return yields;
        if (mode === 'collect-with-return') return { yields, returned: step.value };
        return step.value === undefined ? null : step.value;
      }
      if (mode === 'stream') emit(step.value);
      else yields.push(step.value);
    }
  } catch (error) {
    // Not awaited: a generator still busy inside `next()` would only finish its step first.
    Promise.resolve(iterator.return?.(undefined)).catch(() => {});
    throw error;
  } finally {
    stopped?.dispose();
  }
}

/** A promise that rejects with the signal's reason when it aborts. */
function stopPromise(signal: StopSignal): { promise: Promise<never>; dispose: () => void } {
  let onAbort: () => void = () => {};
  const promise = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}
