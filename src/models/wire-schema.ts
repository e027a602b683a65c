import { z } from 'zod';
import { STORE_ID_PATTERN } from './value-proxy.js';

/**
 * The shape of a Colmena message body on the wire (snake_case, Python Colmena 0.6/0.7). Python
 * omits null fields in requests, so nearly everything is optional with the Python default.
 */

// Python writes NaN for unset floats, so any JS number (NaN and ±Infinity included) is accepted;
// `null` is not, since a Python 0.6 task server crashes on it.
const float = z.custom<number>((v) => typeof v === 'number', { message: 'expected a number (NaN allowed)' });
const count = z.number().int().nonnegative();
const encoded = z.unknown();

const timestamps = z.object({
  created: float.optional(),
  input_received: float.optional(),
  compute_started: float.optional(),
  compute_ended: float.optional(),
  result_sent: float.optional(),
  result_received: float.optional(),
  start_task_submission: float.optional(),
  task_received: float.optional(),
});

const durations = z.object({
  running: float.optional(),
  serialize_inputs: float.optional(),
  deserialize_inputs: float.optional(),
  serialize_results: float.optional(),
  deserialize_results: float.optional(),
  async_resolve_proxies: float.optional(),
  proxy: z.record(z.string(), z.unknown()).optional(),
  additional: z.record(z.string(), float).optional(),
});

const failureInfo = z.looseObject({
  exception: z.string().optional(),
  traceback: z.string().optional(),
  name: z.string().optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
});

const workerInfo = z.looseObject({
  hostname: z.string().optional(),
  pid: z.number().optional(),
  worker_id: z.string().optional(),
});

const failedAttempt = z.object({
  failure: failureInfo,
  worker_info: workerInfo.nullable().optional(),
  compute_started: float.optional(),
  compute_ended: float.optional(),
});

export const wireMessageSchema = z.object({
  task_id: z.string().min(1),
  method: z.string(),
  success: z.boolean().nullable().optional(),
  complete: z.boolean().nullable().optional(),
  task_info: z.record(z.string(), z.unknown()).nullable().optional(),
  resources: z
    .object({
      node_count: z.number().int().positive().optional(),
      cpu_processes: z.number().int().positive().optional(),
      cpu_threads: z.number().int().positive().optional(),
    })
    .optional(),
  failure_info: failureInfo.nullable().optional(),
  worker_info: workerInfo.nullable().optional(),
  message_sizes: z.record(z.string(), z.number()).optional(),
  timestamp: timestamps.optional(),
  time: durations.optional(),
  serialization_method: z.enum(['json', 'pickle', 'msgpack']).optional(),
  keep_inputs: z.boolean().optional(),
  topic: z.string().nullable().optional(),
  max_retries: count.nullable().optional(),
  retries: count.nullable().optional(),
  timeout_ms: z.number().positive().nullable().optional(),
  value_proxy: z
    .object({
      // A store id only: each process resolves it against the stores it was configured with.
      store: z.string().regex(STORE_ID_PATTERN),
      threshold_bytes: z.number().nonnegative(),
    })
    .nullable()
    .optional(),
  failed_attempts: z.array(failedAttempt).optional(),
  inputs: z.tuple([z.array(encoded), z.record(z.string(), encoded)]).optional(),
  value: encoded.optional(),
});

export type WireMessage = z.infer<typeof wireMessageSchema>;
export type WireFailure = z.infer<typeof failureInfo>;
export type WireWorkerInfo = z.infer<typeof workerInfo>;

/** One line per bad field: `timestamp.created: expected a number (NaN allowed)`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(message)'}: ${issue.message}`)
    .join('; ');
}
