/**
 * The worker envelope: what an executor hands to a worker for one task ({@link TaskPayload}), what
 * the worker hands back ({@link TaskReply}) and what it streams meanwhile ({@link IntermediateReply}).
 * Declared once here and carried whole across every boundary: worker threads and child processes
 * get the objects by structured clone; a BullMQ job (JSON in Redis) gets them through
 * {@link toJsonSafe} / {@link fromJsonSafe}, which walk any object generically. No boundary lists
 * fields by hand, so a field added here reaches every worker (and comes back) without touching an
 * executor.
 */
import { InvalidMessageError } from '../common/errors.js';
import type { FailureInformation, WorkerInformation } from '../models/failure.js';
import type { ResourceRequirementsInit } from '../models/resources.js';
import type { Encoded, EncodedInputs, SerializationMethod } from '../models/serialization.js';
import type { ValueProxySettings } from '../models/value-proxy.js';
import type { ProxyTimings } from '../proxy/proxy.js';
import type { TaskIdentity } from './task-context.js';

/**
 * How a generator method's yields become results:
 * - `collect`: the value is the array of yields;
 * - `collect-with-return`: the value is `{ yields, returned }`;
 * - `stream`: each yield is sent as an intermediate result (`complete: false`) the moment it is
 *   yielded; the final result carries the generator's return value (`null` when it returns
 *   nothing), as Colmena does: n yields give n intermediate results and one final result.
 */
export type GeneratorMode = 'collect' | 'collect-with-return' | 'stream';

export const GENERATOR_MODES: readonly GeneratorMode[] = ['collect', 'collect-with-return', 'stream'];

/** What an executor hands to a worker: just enough to run one task. */
export interface TaskPayload {
  method: string;
  serializationMethod: SerializationMethod;
  inputs: EncodedInputs;
  resources?: Required<ResourceRequirementsInit>;
  generator?: GeneratorMode;
  /** Put a value at least this large in this store and send a reference instead. */
  valueProxy?: ValueProxySettings;
  /** The method's declared parameter names: positional and keyword arguments bind by name. */
  params?: readonly string[];
  /** Present when the method asked for its task context (`{ taskContext: true }`). */
  task?: TaskIdentity;
  /** Streamed values go to this topic instead of the task's own. */
  streamTopic?: string;
  /**
   * The task's `timeoutMs`, for an executor that times its tasks where they run
   * (`Executor.timesTasks`, e.g. BullMQ: from when a worker starts the job, not while it waits in
   * Redis). Absent when the task has no timeout or the task server times it.
   */
  timeoutMs?: number;
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
  /** Seconds spent fetching the inputs passed by reference, all at once. */
  asyncResolveProxies?: number;
  /** Per-reference timings of what was fetched and stored. */
  proxy?: ProxyTimings;
}

/** One streamed value of a running generator task. */
export interface IntermediateReply {
  encodedValue: Encoded;
  /** Seconds since the method started. */
  running: number;
  serializeResults: number;
  /** The topic to send it on, when the method streams to another topic than the task's. */
  topic?: string;
}

// Tags for what JSON cannot hold. A NUL-led key never appears in the envelope's own fields, and
// user data inside it is already encoded (a JSON string or msgpack bytes), so nothing collides.
const BYTES = '\u0000bytes';
const NUMBER = '\u0000number';

/**
 * The envelope (or any part of it) as plain JSON: bytes become base64, NaN and ±Infinity become
 * tagged strings, `undefined` fields are left out. Every other field is kept as it is.
 */
export function toJsonSafe(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : { [NUMBER]: String(value) };
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Uint8Array) return { [BYTES]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return value.map(toJsonSafe);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) if (field !== undefined) out[key] = toJsonSafe(field);
  return out;
}

/** The inverse of {@link toJsonSafe}: bytes come back as Buffers, numbers as numbers. */
export function fromJsonSafe(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(fromJsonSafe);
  const record = value as Record<string, unknown>;
  if (typeof record[BYTES] === 'string') return Buffer.from(record[BYTES], 'base64');
  if (typeof record[NUMBER] === 'string') return Number(record[NUMBER]);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(record)) out[key] = fromJsonSafe(field);
  return out;
}

/**
 * Check the fields every worker relies on, naming the one that is wrong; other fields pass as they
 * are (they were written by the same envelope on the other side).
 * @throws InvalidMessageError
 */
export function checkPayload(value: unknown, what = 'task payload'): TaskPayload {
  const payload = asRecord(value, what);
  if (typeof payload.method !== 'string' || payload.method.length === 0) throw malformed(what, 'method', 'a method name');
  if (payload.serializationMethod !== 'json' && payload.serializationMethod !== 'msgpack' && payload.serializationMethod !== 'pickle') {
    throw malformed(what, 'serializationMethod', "'json' or 'msgpack'");
  }
  const inputs = payload.inputs;
  if (!Array.isArray(inputs) || inputs.length !== 2 || !Array.isArray(inputs[0]) || !isEncodedList(inputs[0])) {
    throw malformed(what, 'inputs', '[encoded args, encoded kwargs]');
  }
  const kwargs = asRecord(inputs[1], `${what} keyword inputs`);
  if (!isEncodedList(Object.values(kwargs))) throw malformed(what, 'inputs[1]', 'an object of encoded values');
  if (payload.generator !== undefined && !GENERATOR_MODES.includes(payload.generator as GeneratorMode)) {
    throw malformed(what, 'generator', GENERATOR_MODES.map((mode) => `'${mode}'`).join(', '));
  }
  if (payload.resources !== undefined) asRecord(payload.resources, `${what} resources`);
  if (payload.params !== undefined && (!Array.isArray(payload.params) || !payload.params.every((name) => typeof name === 'string'))) {
    throw malformed(what, 'params', 'an array of parameter names');
  }
  if (payload.task !== undefined) {
    const task = asRecord(payload.task, `${what} task`);
    if (typeof task.taskId !== 'string' || typeof task.topic !== 'string') throw malformed(what, 'task', '{ taskId, topic } strings');
  }
  if (payload.streamTopic !== undefined && typeof payload.streamTopic !== 'string') throw malformed(what, 'streamTopic', 'a topic name');
  if (payload.timeoutMs !== undefined && !(typeof payload.timeoutMs === 'number' && payload.timeoutMs >= 0 && payload.timeoutMs <= Number.MAX_SAFE_INTEGER)) {
    // Any finite delay is held correctly (setLongTimeout chains past 2³¹−1 ms); the server bounds it by limits.maxTimeoutMs.
    throw malformed(what, 'timeoutMs', `a number of milliseconds from 0 to ${Number.MAX_SAFE_INTEGER}`);
  }
  if (payload.valueProxy !== undefined) {
    const proxy = asRecord(payload.valueProxy, `${what} valueProxy`);
    // Which store is the resolver's to check, against the stores this process was configured with.
    if (typeof proxy.thresholdBytes !== 'number' || !(proxy.thresholdBytes >= 0)) throw malformed(what, 'valueProxy.thresholdBytes', 'a non-negative number');
  }
  return payload as unknown as TaskPayload;
}

/** @throws InvalidMessageError naming the field that is wrong. */
export function checkReply(value: unknown, what = 'task reply'): TaskReply {
  const reply = asRecord(value, what);
  if (typeof reply.success !== 'boolean') throw malformed(what, 'success', 'a boolean');
  if (reply.encodedValue !== null && !isEncoded(reply.encodedValue)) throw malformed(what, 'encodedValue', 'a string, bytes or null');
  const worker = asRecord(reply.workerInfo, `${what} workerInfo`);
  if (typeof worker.hostname !== 'string') throw malformed(what, 'workerInfo.hostname', 'a string');
  if (reply.failure !== null) {
    const failure = asRecord(reply.failure, `${what} failure`);
    if (typeof failure.name !== 'string' || typeof failure.message !== 'string') throw malformed(what, 'failure', '{ name, message, stack }');
  }
  for (const field of ['computeStarted', 'computeEnded', 'running', 'deserializeInputs', 'serializeResults'] as const) {
    if (typeof reply[field] !== 'number') throw malformed(what, field, 'a number');
  }
  return reply as unknown as TaskReply;
}

/** @throws InvalidMessageError naming the field that is wrong. */
export function checkIntermediate(value: unknown, what = 'streamed value'): IntermediateReply {
  const item = asRecord(value, what);
  if (!isEncoded(item.encodedValue)) throw malformed(what, 'encodedValue', 'a string or bytes');
  if (typeof item.running !== 'number' || typeof item.serializeResults !== 'number') throw malformed(what, 'running', 'a number');
  return item as unknown as IntermediateReply;
}

function isEncoded(value: unknown): value is Encoded {
  return typeof value === 'string' || value instanceof Uint8Array;
}

function isEncodedList(values: unknown[]): boolean {
  return values.every(isEncoded);
}

/** @throws InvalidMessageError when `value` is not a plain object, naming `what`. */
export function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidMessageError(`The ${what} is not an object (got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`);
  }
  return value as Record<string, unknown>;
}

function malformed(what: string, field: string, expected: string): InvalidMessageError {
  return new InvalidMessageError(`The ${what} is malformed: '${field}' must be ${expected}`);
}
