/**
 * How a task rides a BullMQ job. BullMQ stores job data, progress and return values as JSON, so
 * the worker envelope travels through its generic JSON-safe form (bytes as base64, NaN tagged):
 * every field of a payload or reply crosses, including ones added after this file was written.
 * Both sides check what they read: a job written by another program (or another release) fails
 * clearly instead of being misread.
 */
import { InvalidMessageError } from '../../common/errors.js';
import {
  asRecord,
  checkIntermediate,
  checkPayload,
  checkReply,
  fromJsonSafe,
  type IntermediateReply,
  type TaskPayload,
  type TaskReply,
  toJsonSafe,
} from '../../methods/envelope.js';

/** Bumped when the layout changes incompatibly (2: the whole envelope, generically encoded). */
export const JOB_FORMAT = 2;

/** The data of one job: which export the worker calls, and the task's payload. */
export interface TaskJobData {
  format: typeof JOB_FORMAT;
  /** The function the worker calls, by export name (the task's method name unless declared otherwise). */
  exportName: string;
  /** The {@link TaskPayload}, JSON-safe. */
  payload: unknown;
}

/** One streamed value of a generator task, sent as the job's progress. */
export interface TaskJobProgress {
  format: typeof JOB_FORMAT;
  /** The {@link IntermediateReply}, JSON-safe. */
  item: unknown;
}

/** The return value of one job: a worker's reply. */
export interface TaskJobReturn {
  format: typeof JOB_FORMAT;
  /** The {@link TaskReply}, JSON-safe. */
  reply: unknown;
}

export function encodeJobData(payload: TaskPayload, exportName: string): TaskJobData {
  if (payload.serializationMethod === 'pickle') {
    throw new InvalidMessageError(`Task '${payload.method}' uses pickle serialization, which cannot be sent to a colmena worker`);
  }
  return { format: JOB_FORMAT, exportName, payload: toJsonSafe(payload) };
}

/** @throws InvalidMessageError saying which part of the job data is wrong. */
export function decodeJobData(data: unknown): { exportName: string; payload: TaskPayload } {
  const job = asRecord(data, 'job data');
  checkFormat(job.format, 'job data', 'the task server');
  if (typeof job.exportName !== 'string' || job.exportName.length === 0) {
    throw new InvalidMessageError("The job data is malformed: 'exportName' must be the name of an export");
  }
  const payload = checkPayload(fromJsonSafe(job.payload), 'job data payload');
  if (payload.serializationMethod === 'pickle') throw new InvalidMessageError("The job data is malformed: 'serializationMethod' must be 'json' or 'msgpack'");
  return { exportName: job.exportName, payload };
}

export function encodeJobProgress(item: IntermediateReply): TaskJobProgress {
  return { format: JOB_FORMAT, item: toJsonSafe(item) };
}

/** @throws InvalidMessageError if the progress is not a streamed value. */
export function decodeJobProgress(data: unknown): IntermediateReply {
  const progress = asRecord(data, 'job progress');
  checkFormat(progress.format, 'job progress', 'the colmena worker');
  return checkIntermediate(fromJsonSafe(progress.item), 'job progress');
}

export function encodeJobReturn(reply: TaskReply): TaskJobReturn {
  return { format: JOB_FORMAT, reply: toJsonSafe(reply) };
}

/** @throws InvalidMessageError saying which part of the return value is wrong. */
export function decodeJobReturn(value: unknown): TaskReply {
  const job = asRecord(value, 'job return value');
  checkFormat(job.format, 'job return value', 'the colmena worker');
  return checkReply(fromJsonSafe(job.reply), 'job return value');
}

function checkFormat(format: unknown, what: string, writer: string): void {
  if (format !== JOB_FORMAT) {
    throw new InvalidMessageError(
      `The ${what} has format ${JSON.stringify(format)}, but this colmena reads format ${JOB_FORMAT}. ` +
        `Run the same colmena release in ${writer} and here, and give unrelated BullMQ queues another prefix.`,
    );
  }
}
