/**
 * How a task rides a BullMQ job. BullMQ stores job data and return values as JSON, so msgpack
 * bytes travel as base64 and NaN timings come back as null. Both sides check what they read: a
 * job written by another program (or another release) fails clearly instead of being misread.
 */
import { InvalidMessageError } from '../../common/errors.js';
import type { GeneratorMode, IntermediateReply, TaskPayload, TaskReply } from '../../methods/run.js';
import type { FailureInformation, WorkerInformation } from '../../models/failure.js';
import type { Encoded } from '../../models/serialization.js';

/** Bumped when either layout changes incompatibly. */
export const JOB_FORMAT = 1;

/** The data of one job: a task's payload. */
export interface TaskJobData {
  format: typeof JOB_FORMAT;
  /** The function the worker calls, by export name. */
  method: string;
  serializationMethod: 'json' | 'msgpack';
  /** Encoded positional arguments (msgpack ones in base64). */
  args: string[];
  kwargs: Record<string, string>;
  /** The task's resources (MPI ranks for executables). */
  resources?: TaskPayload['resources'];
  /** How a generator method's yields are delivered. */
  generator?: GeneratorMode;
}

/** One streamed value of a generator task, sent as the job's progress. */
export interface TaskJobProgress {
  format: typeof JOB_FORMAT;
  value: string;
  running: number;
  serializeResults: number;
}

/** The return value of one job: a worker's reply. */
export interface TaskJobReturn {
  format: typeof JOB_FORMAT;
  success: boolean;
  /** Encoded value (msgpack in base64), or null for none. */
  value: string | null;
  failure: FailureInformation | null;
  workerInfo: WorkerInformation;
  /** Timings; null stands for NaN (not measured), which JSON cannot hold. */
  computeStarted: number | null;
  computeEnded: number | null;
  running: number | null;
  deserializeInputs: number | null;
  serializeResults: number | null;
  additional?: Record<string, number | null>;
}

export function encodeJobData(payload: TaskPayload, method: string): TaskJobData {
  if (payload.serializationMethod === 'pickle') {
    throw new InvalidMessageError(`Task '${payload.method}' uses pickle serialization, which cannot be sent to a colmena worker`);
  }
  const binary = payload.serializationMethod === 'msgpack';
  const [args, kwargs] = payload.inputs;
  const encodedKwargs: Record<string, string> = {};
  for (const [key, value] of Object.entries(kwargs)) encodedKwargs[key] = toText(value, binary);
  const data: TaskJobData = {
    format: JOB_FORMAT,
    method,
    serializationMethod: payload.serializationMethod,
    args: args.map((arg) => toText(arg, binary)),
    kwargs: encodedKwargs,
  };
  if (payload.resources) data.resources = payload.resources;
  if (payload.generator) data.generator = payload.generator;
  return data;
}

/** @throws InvalidMessageError saying which part of the job data is wrong. */
export function decodeJobData(data: unknown): TaskPayload {
  const job = asRecord(data, 'job data');
  checkFormat(job.format, 'job data', 'the task server');
  if (typeof job.method !== 'string' || job.method.length === 0) throw bad('job data', 'method', 'a method name');
  const serializationMethod = job.serializationMethod;
  if (serializationMethod !== 'json' && serializationMethod !== 'msgpack') throw bad('job data', 'serializationMethod', "'json' or 'msgpack'");
  const binary = serializationMethod === 'msgpack';
  if (!Array.isArray(job.args) || !job.args.every((arg) => typeof arg === 'string')) throw bad('job data', 'args', 'an array of strings');
  const kwargs = asRecord(job.kwargs, 'job data kwargs');
  const decodedKwargs: Record<string, Encoded> = {};
  for (const [key, value] of Object.entries(kwargs)) {
    if (typeof value !== 'string') throw bad('job data', `kwargs.${key}`, 'a string');
    decodedKwargs[key] = fromText(value, binary);
  }
  const payload: TaskPayload = { method: job.method, serializationMethod, inputs: [job.args.map((arg: string) => fromText(arg, binary)), decodedKwargs] };
  if (job.resources !== undefined) payload.resources = asRecord(job.resources, 'job data resources') as TaskPayload['resources'];
  if (job.generator !== undefined) {
    if (job.generator !== 'collect' && job.generator !== 'collect-with-return' && job.generator !== 'stream') {
      throw bad('job data', 'generator', "'collect', 'collect-with-return' or 'stream'");
    }
    payload.generator = job.generator;
  }
  return payload;
}

export function encodeJobProgress(item: IntermediateReply): TaskJobProgress {
  return {
    format: JOB_FORMAT,
    value: toText(item.encodedValue, typeof item.encodedValue !== 'string'),
    running: item.running,
    serializeResults: item.serializeResults,
  };
}

/** @throws InvalidMessageError if the progress is not a streamed value. */
export function decodeJobProgress(data: unknown, serializationMethod: TaskPayload['serializationMethod']): IntermediateReply {
  const progress = asRecord(data, 'job progress');
  checkFormat(progress.format, 'job progress', 'the colmena worker');
  if (typeof progress.value !== 'string') throw bad('job progress', 'value', 'a string');
  return {
    encodedValue: fromText(progress.value, serializationMethod === 'msgpack'),
    running: timing(progress.running),
    serializeResults: timing(progress.serializeResults),
  };
}

export function encodeJobReturn(reply: TaskReply): TaskJobReturn {
  const encoded: TaskJobReturn = {
    format: JOB_FORMAT,
    success: reply.success,
    value: reply.encodedValue === null ? null : toText(reply.encodedValue, typeof reply.encodedValue !== 'string'),
    failure: reply.failure,
    workerInfo: reply.workerInfo,
    computeStarted: finite(reply.computeStarted),
    computeEnded: finite(reply.computeEnded),
    running: finite(reply.running),
    deserializeInputs: finite(reply.deserializeInputs),
    serializeResults: finite(reply.serializeResults),
  };
  if (reply.additional) {
    encoded.additional = {};
    for (const [key, value] of Object.entries(reply.additional)) encoded.additional[key] = finite(value);
  }
  return encoded;
}

/** @throws InvalidMessageError saying which part of the return value is wrong. */
export function decodeJobReturn(value: unknown, serializationMethod: TaskPayload['serializationMethod']): TaskReply {
  const job = asRecord(value, 'job return value');
  checkFormat(job.format, 'job return value', 'the colmena worker');
  if (typeof job.success !== 'boolean') throw bad('job return value', 'success', 'a boolean');
  if (job.value !== null && typeof job.value !== 'string') throw bad('job return value', 'value', 'a string or null');
  const workerInfo = asRecord(job.workerInfo, 'job return value workerInfo');
  if (typeof workerInfo.hostname !== 'string') throw bad('job return value', 'workerInfo.hostname', 'a string');
  if (job.failure !== null) {
    const failure = asRecord(job.failure, 'job return value failure');
    if (typeof failure.name !== 'string' || typeof failure.message !== 'string') throw bad('job return value', 'failure', '{ name, message, stack }');
  }
  const reply: TaskReply = {
    success: job.success,
    encodedValue: job.value === null ? null : fromText(job.value, serializationMethod === 'msgpack'),
    failure: job.failure as FailureInformation | null,
    workerInfo: workerInfo as WorkerInformation,
    computeStarted: timing(job.computeStarted),
    computeEnded: timing(job.computeEnded),
    running: timing(job.running),
    deserializeInputs: timing(job.deserializeInputs),
    serializeResults: timing(job.serializeResults),
  };
  if (job.additional !== undefined) {
    reply.additional = {};
    for (const [key, each] of Object.entries(asRecord(job.additional, 'job return value additional'))) reply.additional[key] = timing(each);
  }
  return reply;
}

function toText(value: Encoded, binary: boolean): string {
  if (binary) {
    if (!(value instanceof Uint8Array)) throw new InvalidMessageError(`msgpack input must be bytes, got ${typeof value}`);
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  }
  if (typeof value !== 'string') throw new InvalidMessageError(`JSON input must be a string, got ${value.constructor.name}`);
  return value;
}

function fromText(text: string, binary: boolean): Encoded {
  return binary ? Buffer.from(text, 'base64') : text;
}

function finite(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}

function timing(value: unknown): number {
  return typeof value === 'number' ? value : NaN;
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidMessageError(`The ${what} is not an object (got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`);
  }
  return value as Record<string, unknown>;
}

function checkFormat(format: unknown, what: string, writer: string): void {
  if (format !== JOB_FORMAT) {
    throw new InvalidMessageError(
      `The ${what} has format ${JSON.stringify(format)}, but this colmena reads format ${JOB_FORMAT}. ` +
        `Run the same colmena release in ${writer} and here, and give unrelated BullMQ queues another prefix.`,
    );
  }
}

function bad(what: string, field: string, expected: string): InvalidMessageError {
  return new InvalidMessageError(`The ${what} is malformed: '${field}' must be ${expected}`);
}
