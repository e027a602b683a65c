/**
 * A Result in Colmena's own JSON form — what Python's `result.json()` writes and what notebooks
 * and scripts built on Colmena read: its fields in Python's order, `json.dumps` encoding
 * (`", "` and `": "` separators, non-ASCII as `\uXXXX`, floats as Python's `repr`, so `2.0`,
 * `1e-05`, and the bare `NaN` for unset timings), and only Colmena's fields (none of ours, such
 * as `timeout_ms` or `failed_attempts`). `max_retries` and `retries` (Colmena 0.7) are written
 * only when not 0, so a result of Colmena 0.6 comes out byte for byte as it came in.
 *
 * Read one back with {@link fromColmenaJSON} (in colmena-json-read.ts).
 */
import type { FailureInformation, WorkerInformation } from './failure.js';
import type { Result } from './result.js';
import type { Encoded } from './serialization.js';
import { DURATION_WIRE_NAMES, TIMESTAMP_WIRE_NAMES } from './timing.js';
import { pythonFloat } from './python-json.js';

const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/** A string as `json.dumps` writes it (ensure_ascii): everything outside space..~ escaped. */
export function pythonString(text: string): string {
  return `"${text.replace(/[\\"]|[^ -~]/g, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/**
 * Any JSON-able value as `json.dumps` writes it. Numbers: integers as ints unless `floats` (fields
 * Python holds as floats: timings), others as floats; `-0` as `-0.0`.
 */
export function pythonJson(value: unknown, floats = false): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return !floats && Number.isInteger(value) && !Object.is(value, -0) ? String(value) : pythonFloat(value);
  if (typeof value === 'string') return pythonString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map((item) => pythonJson(item, floats)).join(', ')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [key, item] of Object.entries(value)) if (item !== undefined) parts.push(`${pythonString(key)}: ${pythonJson(item, floats)}`);
    return `{${parts.join(', ')}}`;
  }
  return 'null';
}

function encoded(item: Encoded): string {
  return pythonString(typeof item === 'string' ? item : Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('base64'));
}

/** Python's `repr(str)`: single quotes unless the text has one and no double quote. */
function pythonRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const body = text.replace(/[\\\n\r\t]/g, (c) => SHORT_ESCAPES[c]!).replaceAll(quote, `\\${quote}`);
  return `${quote}${body}${quote}`;
}

function failureJson(failure: FailureInformation): string {
  const exception = failure.exception ?? `${failure.name}(${pythonRepr(failure.message)})`;
  return `{"exception": ${pythonString(exception)}, "traceback": ${pythonString(failure.stack)}}`;
}

function workerJson(info: WorkerInformation): string {
  const { workerId, ...rest } = info;
  return pythonJson(workerId === undefined ? rest : { ...rest, worker_id: workerId });
}

/** The Result as Colmena's `result.json()` writes it (see the module comment). */
export function writeColmenaJSON(result: Result): string {
  const sizes: Record<string, number> = {};
  if (result.messageSizes.inputs !== undefined) sizes.inputs = result.messageSizes.inputs;
  if (result.messageSizes.value !== undefined) sizes.value = result.messageSizes.value;
  const [args, kwargs] = result.inputs;
  const kwargParts = Object.keys(kwargs).map((key) => `${pythonString(key)}: ${encoded(kwargs[key]!)}`);
  const retries = result.maxRetries === 0 && result.retries === 0 ? '' : `, "max_retries": ${result.maxRetries}, "retries": ${result.retries}`;
  return (
    `{"task_id": ${pythonString(result.taskId)}, "method": ${pythonString(result.method)}` +
    `, "success": ${pythonJson(result.success)}, "complete": ${pythonJson(result.complete)}` +
    `, "task_info": ${pythonJson(result.taskInfo)}` +
    `, "resources": {"node_count": ${result.resources.nodeCount}, "cpu_processes": ${result.resources.cpuProcesses}, "cpu_threads": ${result.resources.cpuThreads}}` +
    `, "failure_info": ${result.failureInfo ? failureJson(result.failureInfo) : 'null'}` +
    `, "worker_info": ${result.workerInfo ? workerJson(result.workerInfo) : 'null'}` +
    `, "message_sizes": ${pythonJson(sizes)}` +
    `, "timestamp": {${TIMESTAMP_WIRE_NAMES.map(([ours, theirs]) => `"${theirs}": ${pythonFloat(result.timestamp[ours])}`).join(', ')}}` +
    `, "time": {${DURATION_WIRE_NAMES.map(([ours, theirs]) => `"${theirs}": ${pythonFloat(result.time[ours])}`).join(', ')}` +
    `, "proxy": ${pythonJson(result.time.proxy, true)}, "additional": ${pythonJson(result.time.additional, true)}}` +
    `, "serialization_method": ${pythonString(result.serializationMethod)}, "keep_inputs": ${result.keepInputs}` +
    `, "proxystore_name": null, "proxystore_config": null, "proxystore_threshold": null` +
    `, "topic": ${pythonString(result.topic)}${retries}` +
    `, "inputs": [[${args.map(encoded).join(', ')}], {${kwargParts.join(', ')}}]` +
    `, "value": ${result.encodedValue === null ? 'null' : encoded(result.encodedValue)}}`
  );
}
