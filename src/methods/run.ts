import { hostname } from 'node:os';
import { nowSeconds } from '../models/clock.js';
import { type FailureInformation, failureFromError, type WorkerInformation } from '../models/failure.js';
import type { AnyMethod } from '../models/method-types.js';
import { decodeInputs, type Encoded, type EncodedInputs, encodeValue, type SerializationMethod } from '../models/serialization.js';

/** What an executor hands to a worker: just enough to run one task. */
export interface TaskPayload {
  method: string;
  serializationMethod: SerializationMethod;
  inputs: EncodedInputs;
}

/** What a worker hands back; the task server copies it onto the Result. */
export interface TaskReply {
  success: boolean;
  encodedValue: Encoded | null;
  failure: FailureInformation | null;
  workerInfo: WorkerInformation;
  computeStarted: number;
  computeEnded: number;
  running: number;
  deserializeInputs: number;
  serializeResults: number;
  additional?: Record<string, number>;
}

const HOSTNAME = hostname();

export function workerInfo(workerId: string): WorkerInformation {
  return { hostname: HOSTNAME, pid: process.pid, workerId };
}

/**
 * Run one task: decode its inputs, call the method (keyword arguments, if any, as a final object
 * argument), encode the value, and time each step. Never throws: failures are in the reply.
 */
export async function runMethod(fn: AnyMethod, payload: TaskPayload, worker: WorkerInformation): Promise<TaskReply> {
  const reply: TaskReply = {
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
  try {
    let mark = performance.now();
    const [args, kwargs] = decodeInputs(payload.serializationMethod, payload.inputs);
    if (Object.keys(kwargs).length > 0) args.push(kwargs);
    reply.deserializeInputs = (performance.now() - mark) / 1000;

    reply.computeStarted = nowSeconds();
    mark = performance.now();
    let value: unknown;
    try {
      value = await fn(...args);
    } finally {
      reply.running = (performance.now() - mark) / 1000;
      reply.computeEnded = nowSeconds();
    }

    mark = performance.now();
    reply.encodedValue = value === undefined ? null : encodeValue(payload.serializationMethod, value, `the value returned by '${payload.method}'`);
    reply.serializeResults = (performance.now() - mark) / 1000;
    reply.success = true;
  } catch (error) {
    reply.failure = failureFromError(error);
  }
  return reply;
}
