/**
 * The eight moments Colmena stamps on every task, in epoch seconds. `NaN` means "not reached";
 * that is also how Python Colmena writes an unset time on the wire.
 */
export interface Timestamps {
  /** The thinker created the task. */
  created: number;
  /** The task server took the request off its queue. */
  inputReceived: number;
  /** The worker started running the method. */
  computeStarted: number;
  /** The worker finished running the method. */
  computeEnded: number;
  /** The task server sent the result. */
  resultSent: number;
  /** The thinker took the result off its queue. */
  resultReceived: number;
  /** The task server handed the task to its executor. */
  startTaskSubmission: number;
  /** The task server got the finished task back from its executor. */
  taskReceived: number;
}

/** Durations in seconds. `NaN` means "not measured". */
export interface Durations {
  /** Running the method itself. */
  running: number;
  serializeInputs: number;
  deserializeInputs: number;
  serializeResults: number;
  deserializeResults: number;
  /** Resolving pass-by-reference values before the method ran. */
  asyncResolveProxies: number;
  /** Per-reference resolution times, keyed by reference. */
  proxy: Record<string, unknown>;
  /** Method-specific timings (executables add `exec_preprocess`, `exec_execution`, `exec_postprocess`). */
  additional: Record<string, number>;
}

export const TIMESTAMP_FIELDS = [
  'created',
  'inputReceived',
  'computeStarted',
  'computeEnded',
  'resultSent',
  'resultReceived',
  'startTaskSubmission',
  'taskReceived',
] as const satisfies readonly (keyof Timestamps)[];

export const DURATION_FIELDS = [
  'running',
  'serializeInputs',
  'deserializeInputs',
  'serializeResults',
  'deserializeResults',
  'asyncResolveProxies',
] as const satisfies readonly (keyof Durations)[];

/** Each timestamp's camelCase name here and its snake_case name on Colmena's wire. */
export const TIMESTAMP_WIRE_NAMES = [
  ['created', 'created'],
  ['inputReceived', 'input_received'],
  ['computeStarted', 'compute_started'],
  ['computeEnded', 'compute_ended'],
  ['resultSent', 'result_sent'],
  ['resultReceived', 'result_received'],
  ['startTaskSubmission', 'start_task_submission'],
  ['taskReceived', 'task_received'],
] as const satisfies readonly (readonly [keyof Timestamps, string])[];

/** Each duration's camelCase name here and its snake_case name on Colmena's wire. */
export const DURATION_WIRE_NAMES = [
  ['running', 'running'],
  ['serializeInputs', 'serialize_inputs'],
  ['deserializeInputs', 'deserialize_inputs'],
  ['serializeResults', 'serialize_results'],
  ['deserializeResults', 'deserialize_results'],
  ['asyncResolveProxies', 'async_resolve_proxies'],
] as const satisfies readonly (readonly [keyof Durations, string])[];

export function emptyTimestamps(): Timestamps {
  return {
    created: NaN,
    inputReceived: NaN,
    computeStarted: NaN,
    computeEnded: NaN,
    resultSent: NaN,
    resultReceived: NaN,
    startTaskSubmission: NaN,
    taskReceived: NaN,
  };
}

export function emptyDurations(): Durations {
  return {
    running: NaN,
    serializeInputs: NaN,
    deserializeInputs: NaN,
    serializeResults: NaN,
    deserializeResults: NaN,
    asyncResolveProxies: NaN,
    proxy: {},
    additional: {},
  };
}
