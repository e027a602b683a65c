/**
 * A Result rebuilt from the Colmena message a run log keeps in a `task` line. The wire decoder
 * (`decodeWireMessage`) checks every field of a message from another process against its schema,
 * at about 13 µs each; a record of 100,000 results must load in well under 2 s, and it was
 * written by this library, so this reader checks only what it relies on (identity, outcome,
 * inputs, value) and takes the rest as written. Unset times are `null` there (see strict-json.ts).
 */
import { InvalidMessageError } from '../../common/errors.js';
import type { FailureInformation, WorkerInformation } from '../../models/failure.js';
import { ResourceRequirements } from '../../models/resources.js';
import { Result } from '../../models/result.js';
import type { Encoded, SerializationMethod } from '../../models/serialization.js';
import type { Durations } from '../../models/timing.js';
import { DURATION_WIRE_NAMES, TIMESTAMP_WIRE_NAMES } from '../../models/timing.js';

type Wire = Record<string, unknown>;

/**
 * @throws InvalidMessageError naming the field that is missing or of the wrong type.
 */
export function resultFromRecord(wire: Wire): Result {
  const method = serialization(wire.serialization_method);
  const resources = (wire.resources ?? {}) as { node_count?: number; cpu_processes?: number; cpu_threads?: number };
  const result = new Result({
    taskId: text(wire, 'task_id'),
    method: text(wire, 'method'),
    topic: typeof wire.topic === 'string' ? wire.topic : 'default',
    serializationMethod: method,
    keepInputs: wire.keep_inputs !== false,
    taskInfo: isObject(wire.task_info) ? wire.task_info : {},
    resources: new ResourceRequirements({ nodeCount: resources.node_count, cpuProcesses: resources.cpu_processes, cpuThreads: resources.cpu_threads }),
    maxRetries: typeof wire.max_retries === 'number' ? wire.max_retries : 0,
    timeoutMs: typeof wire.timeout_ms === 'number' ? wire.timeout_ms : null,
  });
  result.retries = typeof wire.retries === 'number' ? wire.retries : 0;
  result.success = typeof wire.success === 'boolean' ? wire.success : null;
  result.complete = typeof wire.complete === 'boolean' ? wire.complete : null;
  if (isObject(wire.failure_info)) result.failureInfo = failure(wire.failure_info);
  if (isObject(wire.worker_info)) result.workerInfo = workerInfo(wire.worker_info);
  if (isObject(wire.message_sizes)) result.messageSizes = wire.message_sizes as Result['messageSizes'];
  if (isObject(wire.timestamp)) copyTimes(wire.timestamp, result.timestamp as unknown as Record<string, number>, TIMESTAMP_WIRE_NAMES);
  if (isObject(wire.time)) {
    copyTimes(wire.time, result.time as unknown as Record<string, number>, DURATION_WIRE_NAMES);
    const time = wire.time as { additional?: unknown; proxy?: unknown };
    if (isObject(time.additional)) result.time.additional = time.additional as Durations['additional'];
  }
  const inputs = wire.inputs;
  if (inputs !== undefined && inputs !== null) {
    if (!Array.isArray(inputs) || !Array.isArray(inputs[0]) || !isObject(inputs[1])) {
      throw new InvalidMessageError(`task ${result.taskId}: 'inputs' must be [args, kwargs]`);
    }
    const kwargs: Record<string, Encoded> = {};
    for (const [key, value] of Object.entries(inputs[1])) kwargs[key] = encoded(method, value);
    result.inputs = [(inputs[0] as unknown[]).map((arg) => encoded(method, arg)), kwargs];
  }
  result.encodedValue = wire.value === undefined || wire.value === null ? null : encoded(method, wire.value);
  return result;
}

function text(wire: Wire, field: string): string {
  const value = wire[field];
  if (typeof value !== 'string' || value.length === 0) throw new InvalidMessageError(`the recorded message has no '${field}' string`);
  return value;
}

function serialization(value: unknown): SerializationMethod {
  if (value === undefined || value === null || value === 'json') return 'json';
  if (value === 'msgpack') return 'msgpack';
  throw new InvalidMessageError(`serialization_method ${JSON.stringify(value)} cannot be resumed; only json and msgpack records can`);
}

/** Inputs and values are kept as the wire has them: JSON text, or msgpack bytes as base64. */
function encoded(method: SerializationMethod, value: unknown): Encoded {
  if (method === 'msgpack' && typeof value === 'string') return Buffer.from(value, 'base64');
  if (typeof value === 'string') return value;
  // Python Colmena's JSON workers may answer with a bare value; keep its JSON form.
  return JSON.stringify(value);
}

/** Numeric fields of a `timestamp` or `time` object onto ours; `null` stays NaN (unset). */
function copyTimes(from: Record<string, unknown>, to: Record<string, number>, fields: readonly (readonly [string, string])[]): void {
  for (const [ours, theirs] of fields) {
    const value = from[theirs];
    if (typeof value === 'number') to[ours] = value;
  }
}

function failure(wire: Record<string, unknown>): FailureInformation {
  const info: FailureInformation = {
    name: typeof wire.name === 'string' ? wire.name : 'Error',
    message: typeof wire.message === 'string' ? wire.message : typeof wire.exception === 'string' ? wire.exception : '',
    stack: typeof wire.traceback === 'string' ? wire.traceback : '',
  };
  if (typeof wire.reason === 'string') info.reason = wire.reason as FailureInformation['reason'];
  return info;
}

function workerInfo(wire: Record<string, unknown>): WorkerInformation {
  // Extra keys (e.g. Parsl's worker rank) are kept as given, like the wire decoder does.
  const info = wire as WorkerInformation & { worker_id?: unknown };
  if (typeof info.hostname !== 'string') info.hostname = 'unknown';
  if (typeof info.worker_id === 'string') info.workerId = info.worker_id;
  if ('worker_id' in info) delete info.worker_id;
  return info;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
