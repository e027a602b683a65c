import { InvalidMessageError } from '../common/errors.js';
import { decimalText } from './decimal.js';
import type { FailedAttempt, FailureInformation, WorkerInformation } from './failure.js';
import { parseLenientJson } from './lenient-json.js';
import { pythonFloat } from './python-json.js';
import { ResourceRequirements } from './resources.js';
import { Result } from './result.js';
import type { Encoded, EncodedInputs, SerializationMethod } from './serialization.js';
import { isReference } from './value-proxy.js';
import { type WireFailure, type WireMessage, wireMessageIssues, type WireWorkerInfo } from './wire-schema.js';
import { DURATION_WIRE_NAMES, TIMESTAMP_WIRE_NAMES } from './timing.js';

/**
 * Python Colmena's JSON message format, both ways. The public API is camelCase; this is the one
 * module that knows the snake_case wire names. See `wire-format.md` in the design notes.
 */

/** A float as Python's `json.dumps` writes it: non-finite values as bare `NaN`/`Infinity` tokens. */
function float(value: number): string {
  return Number.isFinite(value) ? decimalText(value) : pythonFloat(value);
}

/** JSON for a (possibly nested) record of timings: every number through {@link float}, so never `null`. */
function floatJson(value: unknown): string {
  if (typeof value === 'number') return float(value);
  if (Array.isArray(value)) return `[${value.map(floatJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    // Keys one by one, no entries array or list of parts: nearly always the record is empty.
    let text = '';
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const inner = (value as Record<string, unknown>)[key];
      if (inner !== undefined) text += `${text ? ', ' : ''}${JSON.stringify(key)}: ${floatJson(inner)}`;
    }
    return `{${text}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function encodedToWire(item: Encoded): string | unknown {
  if (typeof item === 'string') return item;
  if (ArrayBuffer.isView(item)) return Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('base64');
  // A raw JSON value, as a Python worker accepts in place of an encoded argument: written back as it came.
  return item;
}

function encodedFromWire(method: SerializationMethod, item: unknown): Encoded {
  if (method === 'msgpack' && typeof item === 'string' && !isReference(item)) return Buffer.from(item, 'base64');
  return item as Encoded;
}

/** `[args, kwargs]` as JSON, binary items (msgpack) in base64; without a copy when none is binary. */
function inputsToWire(inputs: EncodedInputs): string {
  const [args, kwargs] = inputs;
  let binary = false;
  for (let i = 0; i < args.length && !binary; i++) binary = ArrayBuffer.isView(args[i]);
  for (const key in kwargs) {
    if (binary) break;
    binary = ArrayBuffer.isView(kwargs[key]);
  }
  if (!binary) return `[${JSON.stringify(args)}, ${JSON.stringify(kwargs)}]`;
  const wireKwargs: Record<string, unknown> = {};
  for (const key of Object.keys(kwargs)) wireKwargs[key] = encodedToWire(kwargs[key]!);
  return `[${JSON.stringify(args.map(encodedToWire))}, ${JSON.stringify(wireKwargs)}]`;
}

/** The `exception` text we write for a failure that did not come from Python. */
function syntheticException(name: string, message: string): string {
  return `${name}(${JSON.stringify(message)})`;
}

function failureToWire(failure: FailureInformation): Record<string, unknown> {
  return {
    exception: failure.exception ?? syntheticException(failure.name, failure.message),
    traceback: failure.stack,
    name: failure.name,
    message: failure.message,
    // Left out when unset (JSON.stringify drops undefined), so a decoded failure re-encodes as it came.
    reason: failure.reason,
  };
}

// Copied key by key: object rest and spread cost more than the rest of a small message's decoding.
function workerInfoToWire(info: WorkerInformation): Record<string, unknown> {
  const wire: Record<string, unknown> = {};
  for (const key in info) wire[key === 'workerId' ? 'worker_id' : key] = info[key as keyof WorkerInformation];
  return wire;
}

/**
 * `"name": value` for each timing that was measured. Unset (NaN) ones are left out, as the wire
 * format allows: Python fills in its default, and a message with no `NaN` token is plain JSON,
 * which every reader parses on its fast path.
 */
function measured<K extends string>(names: readonly (readonly [K, string])[], values: Record<K, number>): string {
  let text = '';
  for (const [ours, theirs] of names) {
    const value = values[ours];
    if (!Number.isNaN(value)) text += `${text ? ', ' : ''}"${theirs}": ${float(value)}`;
  }
  return text;
}

/** Encode a Result as a Colmena JSON body, fields in Python's order. */
export function encodeWireMessage(result: Result): string {
  const ts = result.timestamp;
  const time = result.time;
  const inputs = result.inputs;
  const durations = measured(DURATION_WIRE_NAMES, time);
  const value = result.encodedValue === null ? null : encodedToWire(result.encodedValue);
  const attempts =
    result.failedAttempts.length === 0
      ? ''
      : `, "failed_attempts": ${JSON.stringify(
          result.failedAttempts.map((a) => ({
            failure: failureToWire(a.failure),
            worker_info: a.workerInfo && workerInfoToWire(a.workerInfo),
            compute_started: Number.isFinite(a.computeStarted) ? a.computeStarted : undefined,
            compute_ended: Number.isFinite(a.computeEnded) ? a.computeEnded : undefined,
          })),
        )}`;
  return (
    `{"task_id": ${JSON.stringify(result.taskId)}, "method": ${JSON.stringify(result.method)}` +
    `, "success": ${JSON.stringify(result.success)}, "complete": ${JSON.stringify(result.complete)}` +
    `, "task_info": ${JSON.stringify(result.taskInfo)}` +
    `, "resources": {"node_count": ${result.resources.nodeCount}, "cpu_processes": ${result.resources.cpuProcesses}, "cpu_threads": ${result.resources.cpuThreads}` +
    // Ours only, and only when set: Python's ResourceRequirements ignores a field it does not know.
    (result.resources.gpusPerRank > 0 ? `, "gpus_per_rank": ${result.resources.gpusPerRank}}` : '}') +
    `, "failure_info": ${result.failureInfo ? JSON.stringify(failureToWire(result.failureInfo)) : 'null'}` +
    `, "worker_info": ${result.workerInfo ? JSON.stringify(workerInfoToWire(result.workerInfo)) : 'null'}` +
    `, "message_sizes": ${JSON.stringify(result.messageSizes)}` +
    `, "timestamp": {${measured(TIMESTAMP_WIRE_NAMES, ts)}}` +
    `, "time": {${durations}${durations ? ', ' : ''}"proxy": ${floatJson(time.proxy)}, "additional": ${floatJson(time.additional)}}` +
    `, "serialization_method": "${result.serializationMethod}", "keep_inputs": ${result.keepInputs}` +
    `, "proxystore_name": null, "proxystore_config": null, "proxystore_threshold": null` +
    `, "topic": ${JSON.stringify(result.topic)}, "max_retries": ${result.maxRetries}, "retries": ${result.retries}` +
    (result.timeoutMs === null ? '' : `, "timeout_ms": ${result.timeoutMs}`) +
    (result.valueProxy === null
      ? ''
      : `, "value_proxy": ${JSON.stringify({ store: result.valueProxy.storeId, threshold_bytes: result.valueProxy.thresholdBytes })}`) +
    attempts +
    `, "inputs": ${inputsToWire(inputs)}` +
    `, "value": ${JSON.stringify(value)}}`
  );
}

/** Parse Python's `repr(exc)` (`ValueError('bad x')`) into a name and a message, best effort. */
function failureFromWire(wire: WireFailure): FailureInformation {
  const exception = wire.exception ?? '';
  const repr = /^([A-Za-z_][\w.]*)\(([\s\S]*)\)$/.exec(exception);
  let name = wire.name ?? repr?.[1] ?? 'Error';
  let message = wire.message;
  if (message === undefined) {
    const inner = repr?.[2] ?? exception;
    const quoted = /^(['"])([\s\S]*)\1,?$/.exec(inner);
    message = quoted ? quoted[2]! : inner;
  }
  if (!name) name = 'Error';
  const failure: FailureInformation = { name, message, stack: wire.traceback ?? '' };
  if (wire.reason !== undefined) failure.reason = wire.reason as FailureInformation['reason'];
  // Keep Python's repr verbatim, also after one of our own re-encodings carried it along.
  if (wire.exception !== undefined && wire.exception !== syntheticException(name, message)) {
    failure.exception = wire.exception;
  }
  return failure;
}

function workerInfoFromWire(wire: WireWorkerInfo): WorkerInformation {
  const info = { hostname: 'unknown' } as WorkerInformation & Record<string, unknown>;
  for (const key in wire) {
    const value = wire[key];
    if (key === 'worker_id') {
      if (value !== undefined) info.workerId = value as string;
    } else if (key !== 'hostname' || (value !== undefined && value !== null)) info[key] = value;
  }
  return info;
}

function attemptFromWire(wire: NonNullable<WireMessage['failed_attempts']>[number]): FailedAttempt {
  return {
    failure: failureFromWire(wire.failure),
    workerInfo: wire.worker_info ? workerInfoFromWire(wire.worker_info) : null,
    computeStarted: wire.compute_started ?? NaN,
    computeEnded: wire.compute_ended ?? NaN,
  };
}

/**
 * Decode a Colmena JSON body into a Result. Throws an InvalidMessageError naming every bad field.
 * The value stays encoded (see {@link Result.decodeValue}).
 */
export function decodeWireMessage(body: string): Result {
  let parsed: unknown;
  try {
    parsed = parseLenientJson(body);
  } catch (error) {
    throw new InvalidMessageError(`Message body is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const issues = wireMessageIssues(parsed);
  if (issues.length > 0) throw new InvalidMessageError(`Invalid Colmena message: ${issues.slice(0, 20).join('; ')}`);
  const wire = parsed as WireMessage;
  const method = (wire.serialization_method ?? 'json') as SerializationMethod;
  const result = new Result({
    taskId: wire.task_id,
    method: wire.method,
    topic: wire.topic ?? 'default',
    serializationMethod: method,
    keepInputs: wire.keep_inputs ?? true,
    taskInfo: wire.task_info ?? {},
    resources: new ResourceRequirements({
      nodeCount: wire.resources?.node_count,
      cpuProcesses: wire.resources?.cpu_processes,
      cpuThreads: wire.resources?.cpu_threads,
      gpusPerRank: wire.resources?.gpus_per_rank,
    }),
    maxRetries: wire.max_retries ?? 0,
    timeoutMs: wire.timeout_ms ?? null,
  });
  result.retries = wire.retries ?? 0;
  if (wire.value_proxy) {
    result.valueProxy = { storeId: wire.value_proxy.store, thresholdBytes: wire.value_proxy.threshold_bytes };
  }
  result.success = wire.success ?? null;
  result.complete = wire.complete ?? null;
  result.failureInfo = wire.failure_info ? failureFromWire(wire.failure_info) : null;
  result.workerInfo = wire.worker_info ? workerInfoFromWire(wire.worker_info) : null;
  if (wire.message_sizes) result.messageSizes = wire.message_sizes;
  for (const [ours, theirs] of TIMESTAMP_WIRE_NAMES) result.timestamp[ours] = wire.timestamp?.[theirs] ?? NaN;
  for (const [ours, theirs] of DURATION_WIRE_NAMES) result.time[ours] = wire.time?.[theirs] ?? NaN;
  if (wire.time?.proxy) result.time.proxy = wire.time.proxy;
  if (wire.time?.additional) result.time.additional = wire.time.additional;
  if (wire.failed_attempts) result.failedAttempts = wire.failed_attempts.map(attemptFromWire);
  if (wire.inputs && method !== 'msgpack') {
    // Encoded items are the JSON values as parsed: the parsed arrays are ours to keep, no copy.
    result.inputs = wire.inputs as EncodedInputs;
  } else if (wire.inputs) {
    const [args, kwargs] = wire.inputs;
    const decodedKwargs: Record<string, Encoded> = {};
    for (const key of Object.keys(kwargs)) decodedKwargs[key] = encodedFromWire(method, kwargs[key]);
    result.inputs = [args.map((a) => encodedFromWire(method, a)), decodedKwargs] satisfies EncodedInputs;
  }
  result.encodedValue = wire.value === undefined || wire.value === null ? null : encodedFromWire(method, wire.value);
  return result;
}

/** What can still be read from a message that failed validation, to answer it with a failure. */
export interface MessageIdentity {
  taskId: string;
  topic: string;
  method: string;
}

export function readIdentity(body: string, topicHint?: string): MessageIdentity | null {
  let parsed: Record<string, unknown> | null = null;
  try {
    const value = parseLenientJson(body);
    if (value && typeof value === 'object' && !Array.isArray(value)) parsed = value as Record<string, unknown>;
  } catch {
    // Broken JSON: fall back to pattern matching below.
  }
  const field = (name: string): string | undefined => {
    const value = parsed ? parsed[name] : unescapeJsonString(new RegExp(`"${name}"\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(body)?.[1]);
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  };
  const taskId = field('task_id');
  if (taskId === undefined) return null;
  const topic = field('topic') ?? topicHint ?? 'default';
  if (topic.includes('{')) return null;
  return { taskId, topic, method: field('method') ?? 'unknown' };
}

/** The text of a JSON string literal's contents (Python escapes non-ASCII as `\\uXXXX`); as is if malformed. */
function unescapeJsonString(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

/** A request list element: the topic, then the JSON body with no separator. */
export function encodeRequestElement(result: Result): string {
  return result.topic + encodeWireMessage(result);
}

/** Python's task servers treat any request element ending in `null` as the kill signal. */
export const KILL_SIGNAL_ELEMENT = 'defaultnull';

/**
 * Python's kill signal is the topic followed by `null`: exactly `<topic>null` with no `{`
 * anywhere, so a request whose JSON body merely ends in `null` is never mistaken for it.
 */
export function isKillSignal(element: string): boolean {
  return element.endsWith('null') && !element.includes('{');
}

/** Split a request element at its first `{`; `null` when there is none. */
export function splitRequestElement(element: string): { topic: string; body: string } | null {
  const brace = element.indexOf('{');
  if (brace < 0) return null;
  return { topic: element.slice(0, brace), body: element.slice(brace) };
}
