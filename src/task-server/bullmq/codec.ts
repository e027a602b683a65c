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

/**
 * Bumped when the layout changes incompatibly (2: the whole envelope, generically encoded; 3: the
 * worker times the task, from `payload.timeoutMs`, so a worker that would ignore it must refuse it).
 */
export const JOB_FORMAT = 3;
/**
 * Formats a worker still runs: a format-2 job comes from an older task server, which times the
 * task itself (it carries no timeout). The worker answers in the job's own format, so that server
 * reads the reply; replies and streamed values are laid out the same in both.
 */
const READABLE_FORMATS: readonly number[] = [2, 3];
export type JobFormat = 2 | 3;

/** The data of one job: which export the worker calls, and the task's payload. */
export interface TaskJobData {
  format: JobFormat;
  /** The function the worker calls, by export name (the task's method name unless declared otherwise). */
  exportName: string;
  /** The task's id, which a worker names when the task runs past its timeout. */
  taskId?: string;
  /** The {@link TaskPayload}, JSON-safe. */
  payload: unknown;
}

/** One streamed value of a generator task, sent as the job's progress. */
export interface TaskJobProgress {
  format: JobFormat;
  /** The {@link IntermediateReply}, JSON-safe. */
  item: unknown;
}

/** The return value of one job: a worker's reply. */
export interface TaskJobReturn {
  format: JobFormat;
  /** The {@link TaskReply}, JSON-safe. */
  reply: unknown;
}

export interface DecodedJob {
  format: JobFormat;
  exportName: string;
  taskId: string | undefined;
  payload: TaskPayload;
}

export function encodeJobData(payload: TaskPayload, exportName: string, taskId?: string): TaskJobData {
  if (payload.serializationMethod === 'pickle') {
    throw new InvalidMessageError(`Task '${payload.method}' uses pickle serialization, which cannot be sent to a colmena worker`);
  }
  const data: TaskJobData = { format: JOB_FORMAT, exportName, payload: toJsonSafe(payload) };
  if (taskId !== undefined) data.taskId = taskId;
  return data;
}

/** @throws InvalidMessageError saying which part of the job data is wrong. */
export function decodeJobData(data: unknown): DecodedJob {
  const job = asRecord(data, 'job data');
  const format = checkFormat(job.format, 'job data', 'the task server');
  if (typeof job.exportName !== 'string' || job.exportName.length === 0) {
    throw new InvalidMessageError("The job data is malformed: 'exportName' must be the name of an export");
  }
  // Bounded by the task server's wire limits when it took the task.
  if (job.taskId !== undefined && typeof job.taskId !== 'string') throw new InvalidMessageError("The job data is malformed: 'taskId' must be a string");
  const payload = checkPayload(fromJsonSafe(job.payload), 'job data payload');
  if (payload.serializationMethod === 'pickle') throw new InvalidMessageError("The job data is malformed: 'serializationMethod' must be 'json' or 'msgpack'");
  return { format, exportName: job.exportName, taskId: job.taskId, payload };
}

export function encodeJobProgress(item: IntermediateReply, format: JobFormat = JOB_FORMAT): TaskJobProgress {
  return { format, item: toJsonSafe(item) };
}

/** @throws InvalidMessageError if the progress is not a streamed value. */
export function decodeJobProgress(data: unknown): IntermediateReply {
  const progress = asRecord(data, 'job progress');
  checkFormat(progress.format, 'job progress', 'the colmena worker');
  return checkIntermediate(fromJsonSafe(progress.item), 'job progress');
}

/** `format` is the job's own, so the task server that wrote it reads the reply. */
export function encodeJobReturn(reply: TaskReply, format: JobFormat = JOB_FORMAT): TaskJobReturn {
  return { format, reply: toJsonSafe(reply) };
}

/** @throws InvalidMessageError saying which part of the return value is wrong. */
export function decodeJobReturn(value: unknown): TaskReply {
  const job = asRecord(value, 'job return value');
  checkFormat(job.format, 'job return value', 'the colmena worker');
  return checkReply(fromJsonSafe(job.reply), 'job return value');
}

function checkFormat(format: unknown, what: string, writer: string): JobFormat {
  if (typeof format !== 'number' || !READABLE_FORMATS.includes(format)) {
    throw new InvalidMessageError(
      `The ${what} has format ${JSON.stringify(format)}, but this colmena reads formats ${READABLE_FORMATS.join(' and ')}. ` +
        `Run the same colmena release in ${writer} and here, and give unrelated BullMQ queues another prefix.`,
    );
  }
  return format as JobFormat;
}
