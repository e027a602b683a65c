import { hostname } from 'node:os';
import { nowSeconds, secondsSince } from '../models/clock.js';
import { type FailureInformation, failureFromError, type WorkerInformation } from '../models/failure.js';
import type { AnyMethod } from '../models/method-types.js';
import { decodeInputs, type Encoded, encodeValue } from '../models/serialization.js';
import { hasReferences, proxyValueIfLarge, resolveInputs } from '../proxy/proxy.js';
import type { StopSignal } from '../common/stop-signal.js';
import { type ExecutableMethod, isExecutableMethod } from './executable.js';
import type { IntermediateReply, TaskPayload, TaskReply } from './envelope.js';
import { bindArguments } from './bind-arguments.js';
import { drainGenerator, isIterator } from './generator.js';
import { NEVER_STOPPED, runWithTaskContext, type TaskContext } from './task-context.js';
import { ResourceRequirements } from '../models/resources.js';

// The envelope is declared once in envelope.ts; re-exported here for the modules that run tasks.
export type { GeneratorMode, IntermediateReply, TaskPayload, TaskReply } from './envelope.js';

export interface RunContext {
  /** Aborts the task: generators stop between yields, executables are killed. */
  signal?: StopSignal;
  /** Receives streamed values; must not block. */
  onIntermediate?: (item: IntermediateReply) => void;
  /**
   * Which task and which attempt of it (0 first, then one per retry): lets an executor that keeps
   * work outside this process (BullMQ) recognise a task it already ran, e.g. after a restart.
   */
  taskId?: string;
  attempt?: number;
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

/**
 * Run one task: decode its inputs, call the method (arguments bound by name when it declared
 * `params`; else keyword arguments, if any, as a final object argument; executables get them
 * separately), inside its task context if it asked for one, drain a generator as its mode says,
 * encode the value, and time each step. Never throws: failures are in the reply.
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
      reply.asyncResolveProxies = secondsSince(resolving);
    }
    let mark = performance.now();
    const [args, kwargs] = decodeInputs(payload.serializationMethod, inputs);
    reply.deserializeInputs = secondsSince(mark);

    reply.computeStarted = nowSeconds();
    const started = performance.now();
    let value: unknown;
    try {
      if (isExecutableMethod(target)) {
        const outcome = await target.execute(args as never, kwargs, { resources: payload.resources, signal: context.signal });
        value = outcome.value;
        reply.additional = outcome.additional;
      } else {
        const call = payload.params ? bindArguments(payload.method, payload.params, args, kwargs) : args;
        if (!payload.params && Object.keys(kwargs).length > 0) call.push(kwargs);
        const run = async (): Promise<unknown> => {
          const returned = await target(...call);
          if (!isIterator(returned)) return returned;
          return drainGenerator(returned, payload, { signal: context.signal, onIntermediate: context.onIntermediate, started, encode });
        };
        value = payload.task ? await runWithTaskContext(taskContextOf(payload, payload.task, context), run) : await run();
      }
    } finally {
      reply.running = secondsSince(started);
      reply.computeEnded = nowSeconds();
    }

    mark = performance.now();
    reply.encodedValue = encode(value);
    reply.serializeResults = secondsSince(mark);
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

function taskContextOf(payload: TaskPayload, task: NonNullable<TaskPayload['task']>, context: RunContext): TaskContext {
  return Object.freeze({
    taskId: task.taskId,
    method: payload.method,
    topic: task.topic,
    resources: Object.freeze(payload.resources ?? new ResourceRequirements().toJSON()),
    signal: context.signal ?? NEVER_STOPPED,
  });
}
