import { hostname } from 'node:os';
import { nowSeconds } from '../models/clock.js';
import { type FailureInformation, failureFromError, type WorkerInformation } from '../models/failure.js';
import type { AnyMethod } from '../models/method-types.js';
import { decodeInputs, type Encoded, encodeValue } from '../models/serialization.js';
import { hasReferences, proxyValueIfLarge, resolveInputs } from '../proxy/proxy.js';
import type { StopSignal } from '../common/stop-signal.js';
import { type ExecutableMethod, isExecutableMethod } from './executable.js';
import type { GeneratorMode, IntermediateReply, TaskPayload, TaskReply } from './envelope.js';

// The envelope is declared once in envelope.ts; re-exported here for the modules that run tasks.
export type { GeneratorMode, IntermediateReply, TaskPayload, TaskReply } from './envelope.js';

export interface RunContext {
  /** Aborts the task: generators stop between yields, executables are killed. */
  signal?: StopSignal;
  /** Receives streamed values; must not block. */
  onIntermediate?: (item: IntermediateReply) => void;
}

/** A thing a method name can stand for: a function or an external program. */
export type MethodTarget = AnyMethod | ExecutableMethod<never, unknown>;

const HOSTNAME = hostname();

export function workerInfo(workerId: string): WorkerInformation {
  return { hostname: HOSTNAME, pid: process.pid, workerId };
}

export function emptyReply(worker: WorkerInformation): TaskReply {
  return {
    success: false,
    encodedValue: null,
    failure: null,
    workerInfo: worker,
    computeStarted: NaN,
    computeEnded: NaN,
    running: NaN,
    deserializeInputs: NaN,
    serializeResults: NaN,
  };
}

/** A reply for a task that never reached its method (bad module, dead worker, cancelled in queue). */
export function failedReply(worker: WorkerInformation, error: unknown, reason?: FailureInformation['reason']): TaskReply {
  return { ...emptyReply(worker), failure: failureFromError(error, reason) };
}

function isIterator(value: unknown): value is AsyncIterator<unknown> | Iterator<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Iterator<unknown>).next === 'function' &&
    (Symbol.asyncIterator in value || Symbol.iterator in value)
  );
}

/**
 * Run one task: decode its inputs, call the method (keyword arguments, if any, as a final object
 * argument; executables get them separately), drain a generator as its mode says, encode the
 * value, and time each step. Never throws: failures are in the reply.
 */
export async function runMethod(target: MethodTarget, payload: TaskPayload, worker: WorkerInformation, context: RunContext = {}): Promise<TaskReply> {
  const reply = emptyReply(worker);
  const encode = (value: unknown): Encoded | null =>
    value === undefined ? null : encodeValue(payload.serializationMethod, value, `the value returned by '${payload.method}'`);
  try {
    let inputs = payload.inputs;
    if (hasReferences(inputs)) {
      const resolving = performance.now();
      reply.proxy = {};
      inputs = await resolveInputs(inputs, reply.proxy);
      reply.asyncResolveProxies = (performance.now() - resolving) / 1000;
    }
    let mark = performance.now();
    const [args, kwargs] = decodeInputs(payload.serializationMethod, inputs);
    reply.deserializeInputs = (performance.now() - mark) / 1000;

    reply.computeStarted = nowSeconds();
    const started = performance.now();
    let value: unknown;
    try {
      if (isExecutableMethod(target)) {
        const outcome = await target.execute(args as never, kwargs, { resources: payload.resources, signal: context.signal });
        value = outcome.value;
        reply.additional = outcome.additional;
      } else {
        if (Object.keys(kwargs).length > 0) args.push(kwargs);
        value = await target(...args);
        if (isIterator(value)) value = await drainGenerator(value, payload, context, started, encode);
      }
    } finally {
      reply.running = (performance.now() - started) / 1000;
      reply.computeEnded = nowSeconds();
    }

    mark = performance.now();
    reply.encodedValue = encode(value);
    reply.serializeResults = (performance.now() - mark) / 1000;
    if (payload.valueProxy && reply.encodedValue !== null) {
      reply.proxy ??= {};
      reply.encodedValue = await proxyValueIfLarge(reply.encodedValue, payload.valueProxy, reply.proxy);
    }
    reply.success = true;
  } catch (error) {
    const reason = context.signal?.aborted ? abortReason(context.signal) : 'error';
    reply.failure = failureFromError(context.signal?.aborted ? context.signal.reason : error, reason);
  }
  return reply;
}

/** `timeout` or `cancelled`, read from the abort reason (ours, or `AbortSignal.timeout()`'s). */
export function abortReason(signal: StopSignal): FailureInformation['reason'] {
  const name = (signal.reason as { name?: string } | undefined)?.name;
  return name === 'TaskTimeoutError' || name === 'TimeoutError' ? 'timeout' : 'cancelled';
}

async function drainGenerator(
  iterator: AsyncIterator<unknown> | Iterator<unknown>,
  payload: TaskPayload,
  context: RunContext,
  started: number,
  encode: (value: unknown) => Encoded | null,
): Promise<unknown> {
  const mode = payload.generator;
  if (mode === undefined) {
    await iterator.return?.();
    throw new TypeError(
      `Method '${payload.method}' returned a generator. Declare how to deliver its yields: ` +
        `moduleMethod(url, '${payload.method}', { generator: 'stream' }) (or 'collect', 'collect-with-return').`,
    );
  }
  const yields: unknown[] = [];
  // Streaming holds back one item, so the final result can carry the last one.
  let held: { value: unknown } | null = null;
  const emit = (value: unknown): void => {
    const mark = performance.now();
    const encodedValue = encode(value);
    if (encodedValue === null) return;
    context.onIntermediate?.({ encodedValue, running: (mark - started) / 1000, serializeResults: (performance.now() - mark) / 1000 });
  };
  try {
    for (;;) {
      context.signal?.throwIfAborted();
      const step = await iterator.next();
      if (step.done) {
        if (mode === 'collect') return yields;
        if (mode === 'collect-with-return') return { yields, returned: step.value };
        if (step.value !== undefined) {
          if (held) emit(held.value);
          return step.value;
        }
        return held?.value;
      }
      if (mode === 'stream') {
        if (held) emit(held.value);
        held = { value: step.value };
      } else {
        yields.push(step.value);
      }
    }
  } catch (error) {
    await iterator.return?.(undefined);
    throw error;
  }
}
