import { DEFAULT_WIRE_LIMITS } from '../common/limits.js';
import { STORE_ID_PATTERN } from './value-proxy.js';

/**
 * The shape of a Colmena message body on the wire (snake_case, Python Colmena 0.6/0.7), and the
 * one check every decoded message goes through. Python omits null fields in requests, so nearly
 * everything is optional with the Python default.
 *
 * Written by hand rather than with a schema library: it runs once per message on the hot path
 * (over the object the lenient JSON parser already built, in place, without copying), and keeps
 * `import 'colmena'` free of zod.
 */

type Float = number;

export interface WireFailure {
  exception?: string;
  traceback?: string;
  name?: string;
  message?: string;
  reason?: string;
  [extra: string]: unknown;
}

export interface WireWorkerInfo {
  hostname?: string;
  pid?: number;
  worker_id?: string;
  [extra: string]: unknown;
}

export interface WireMessage {
  task_id: string;
  method: string;
  success?: boolean | null;
  complete?: boolean | null;
  task_info?: Record<string, unknown> | null;
  resources?: { node_count?: number; cpu_processes?: number; cpu_threads?: number; gpus_per_rank?: number; [extra: string]: unknown };
  failure_info?: WireFailure | null;
  worker_info?: WireWorkerInfo | null;
  message_sizes?: Record<string, number>;
  timestamp?: Partial<Record<
    'created' | 'input_received' | 'compute_started' | 'compute_ended' | 'result_sent' | 'result_received' | 'start_task_submission' | 'task_received',
    Float
  >>;
  time?: Partial<Record<'running' | 'serialize_inputs' | 'deserialize_inputs' | 'serialize_results' | 'deserialize_results' | 'async_resolve_proxies', Float>> & {
    proxy?: Record<string, unknown>;
    additional?: Record<string, Float>;
  };
  serialization_method?: 'json' | 'pickle' | 'msgpack';
  keep_inputs?: boolean;
  topic?: string | null;
  max_retries?: number | null;
  retries?: number | null;
  timeout_ms?: number | null;
  /** A store id only: each process resolves it against the stores it was configured with. */
  value_proxy?: { store: string; threshold_bytes: number } | null;
  failed_attempts?: { failure: WireFailure; worker_info?: WireWorkerInfo | null; compute_started?: Float; compute_ended?: Float }[];
  inputs?: [unknown[], Record<string, unknown>];
  value?: unknown;
}

/**
 * A check of one value at `path`: pushes what was expected onto `issues` when it does not fit.
 * `path` is `null` on the first, quick pass over a message: nearly every message fits, so no
 * path text is built for it; only a message that does not fit is checked again with paths.
 */
type Check = (value: unknown, path: string | null, issues: string[]) => void;

/** The path of a field inside `path`, or `null` on the quick pass. */
const at = (path: string | null, key: string | number): string | null => (path === null ? null : path ? `${path}.${key}` : String(key));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A check made once, from a predicate and the words for what it expects. */
function check(ok: (value: unknown) => boolean, expected: string): Check {
  return (value, path, issues) => {
    if (!ok(value)) issues.push(`${path}: expected ${expected}`);
  };
}

// Python writes NaN for unset floats, so any JS number (NaN and ±Infinity included) is accepted;
// `null` is not, since a Python 0.6 task server crashes on it.
const float = check((v) => typeof v === 'number', 'a number (NaN allowed)');
const number = check((v) => typeof v === 'number', 'a number');
const string = check((v) => typeof v === 'string', 'a string');
const boolean = check((v) => typeof v === 'boolean', 'a boolean');
const count = check((v) => Number.isInteger(v) && (v as number) >= 0, 'a non-negative integer');
const positiveInteger = check((v) => Number.isInteger(v) && (v as number) > 0, 'a positive integer');
const positive = check((v) => typeof v === 'number' && v > 0, 'a positive number');
const nonNegative = check((v) => typeof v === 'number' && v >= 0, 'a non-negative number');
const nonEmptyString = check((v) => typeof v === 'string' && v.length > 0, 'a non-empty string');
// Bounds from limits.ts: an id or name longer than any real one is a broken or hostile message.
const taskId = check(
  (v) => typeof v === 'string' && v.length > 0 && v.length <= DEFAULT_WIRE_LIMITS.maxIdLength,
  `a non-empty string of at most ${DEFAULT_WIRE_LIMITS.maxIdLength} characters`,
);
const name = check((v) => typeof v === 'string' && v.length <= DEFAULT_WIRE_LIMITS.maxNameLength, `a string of at most ${DEFAULT_WIRE_LIMITS.maxNameLength} characters`);

const nullable =
  (check: Check): Check =>
  (v, path, issues) => {
    if (v !== null) check(v, path, issues);
  };

/** An object whose listed fields, where present, pass their checks; other fields are kept as they are. */
function fields(shape: Record<string, Check>): Check {
  return (v, path, issues) => {
    if (!isObject(v)) {
      issues.push(`${path}: expected an object`);
      return;
    }
    for (const key in shape) {
      const value = v[key];
      if (value !== undefined) shape[key]!(value, at(path, key), issues);
    }
  };
}

function record(check: Check): Check {
  return (v, path, issues) => {
    if (!isObject(v)) {
      issues.push(`${path}: expected an object`);
      return;
    }
    for (const key in v) check(v[key], at(path, key), issues);
  };
}

function oneOf(...allowed: string[]): Check {
  return check((v) => allowed.includes(v as string), `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
}

const FLOAT_FIELDS = (names: readonly string[]): Record<string, Check> => Object.fromEntries(names.map((name) => [name, float]));

const failureInfo = fields({ exception: string, traceback: string, name: string, message: string, reason: string });
const workerInfo = fields({ hostname: string, pid: float, worker_id: string });

const proxyFields = fields({ store: string, threshold_bytes: nonNegative });
const valueProxy: Check = (v, path, issues) => {
  proxyFields(v, path, issues);
  if (isObject(v) && typeof v.store === 'string' && !STORE_ID_PATTERN.test(v.store)) issues.push(`${path}.store: expected a store id matching ${String(STORE_ID_PATTERN)}`);
  if (isObject(v) && v.store === undefined) issues.push(`${path}.store: expected a store id`);
};

const inputs: Check = (v, path, issues) => {
  if (!Array.isArray(v) || v.length !== 2) {
    issues.push(`${path}: expected [positional arguments (an array), keyword arguments (an object)]`);
    return;
  }
  if (!Array.isArray(v[0])) issues.push(`${path}.0: expected an array of positional arguments`);
  if (!isObject(v[1])) issues.push(`${path}.1: expected an object of keyword arguments`);
  shallow(v, path, issues);
};

const attemptFields = fields({ failure: failureInfo, worker_info: nullable(workerInfo), compute_started: float, compute_ended: float });
const failedAttempts: Check = (v, path, issues) => {
  if (!Array.isArray(v)) {
    issues.push(`${path}: expected an array`);
    return;
  }
  v.forEach((attempt, index) => {
    const attemptPath = at(path, index);
    attemptFields(attempt, attemptPath, issues);
    if (isObject(attempt) && attempt.failure === undefined) issues.push(`${attemptPath}.failure: expected an object`);
  });
};

/** Whether `value` nests arrays and objects at most `levels` deep (stops looking past the limit). */
function nestsAtMost(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (levels === 0) return false;
  for (const key in value) if (!nestsAtMost((value as Record<string, unknown>)[key], levels - 1)) return false;
  return true;
}

// Free-form fields are echoed back in the answer; one nested past any real use could not be written again.
const shallow = check((v) => nestsAtMost(v, DEFAULT_WIRE_LIMITS.maxNestingDepth), `at most ${DEFAULT_WIRE_LIMITS.maxNestingDepth} levels of nesting`);
const freeForm: Check = (v, path, issues) => {
  if (!isObject(v)) issues.push(`${path}: expected an object`);
  shallow(v, path, issues);
};

const message = fields({
  task_id: taskId,
  method: name,
  success: nullable(boolean),
  complete: nullable(boolean),
  task_info: nullable(freeForm),
  resources: fields({ node_count: positiveInteger, cpu_processes: positiveInteger, cpu_threads: positiveInteger, gpus_per_rank: count }),
  failure_info: nullable(failureInfo),
  worker_info: nullable(workerInfo),
  message_sizes: record(number),
  timestamp: fields(FLOAT_FIELDS(['created', 'input_received', 'compute_started', 'compute_ended', 'result_sent', 'result_received', 'start_task_submission', 'task_received'])),
  time: fields({
    ...FLOAT_FIELDS(['running', 'serialize_inputs', 'deserialize_inputs', 'serialize_results', 'deserialize_results', 'async_resolve_proxies']),
    proxy: freeForm,
    additional: record(float),
  }),
  serialization_method: oneOf('json', 'pickle', 'msgpack'),
  keep_inputs: boolean,
  topic: nullable(name),
  max_retries: nullable(count),
  retries: nullable(count),
  timeout_ms: nullable(positive),
  value_proxy: nullable(valueProxy),
  failed_attempts: failedAttempts,
  inputs,
});

/**
 * Check a parsed message body against Colmena's format.
 * @returns the issues, one line per bad field (`timestamp.created: expected a number (NaN allowed)`); empty when it fits.
 */
export function wireMessageIssues(parsed: unknown): string[] {
  const issues: string[] = [];
  message(parsed, null, issues);
  if (issues.length > 0) {
    issues.length = 0;
    message(parsed, '', issues);
  }
  if (isObject(parsed)) {
    if (parsed.task_id === undefined) issues.push('task_id: expected a non-empty string');
    if (parsed.method === undefined) issues.push('method: expected a string');
  } else {
    issues.length = 0;
    issues.push('(message): expected a JSON object');
  }
  return issues;
}
