import type { WorkerInformation } from './failure.js';
import { parseLenientJson } from './lenient-json.js';
import type { Result } from './result.js';
import { decodeValue } from './serialization.js';
import { decodeWireMessage } from './wire.js';

/**
 * Read a Result written in Colmena's JSON form (Python's `result.json()`, or
 * {@link Result.toColmenaJSON}), with its value decoded. Its timings stay as written (decoding
 * here is not stamped as `deserialize_results`), so it writes back byte for byte.
 * @throws InvalidMessageError naming every bad field; SerializationError for a value that is not
 *   JSON-encoded.
 * @example const result = fromColmenaJSON(readFileSync('result.json', 'utf8'));
 */
export function fromColmenaJSON(text: string): Result {
  const result = decodeWireMessage(text);
  if (result.workerInfo) result.workerInfo = inWrittenOrder(result.workerInfo, parseLenientJson(text));
  result.value = result.encodedValue === null ? null : decodeValue(result.serializationMethod, result.encodedValue, `the value of task ${result.taskId}`);
  return result;
}

/** The worker info with its keys in the order the text had them (validation may reorder them). */
function inWrittenOrder(info: WorkerInformation, parsed: unknown): WorkerInformation {
  const written = (parsed as { worker_info?: Record<string, unknown> } | null)?.worker_info;
  if (!written || typeof written !== 'object') return info;
  const ordered: Record<string, unknown> = {};
  for (const key of Object.keys(written)) {
    const ours = key === 'worker_id' ? 'workerId' : key;
    if (ours in info) ordered[ours] = info[ours];
  }
  return Object.assign(ordered, info) as WorkerInformation;
}
