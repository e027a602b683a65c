import { randomUUID } from 'node:crypto';
import { nowSeconds, secondsSince } from './clock.js';
import type { FailedAttempt, FailureInformation, WorkerInformation } from './failure.js';
import { ResourceRequirements, type ResourceRequirementsInit } from './resources.js';
import {
  decodeInputs,
  decodeValue,
  type Encoded,
  type EncodedInputs,
  encodeInputs,
  type SerializationMethod,
} from './serialization.js';
import { emptyDurations, emptyTimestamps, type Durations, type Timestamps } from './timing.js';
import type { ValueProxySettings } from './value-proxy.js';
import { writeColmenaJSON } from './colmena-json.js';
import { InvalidArgumentError } from '../common/errors.js';

/** What a thinker sets when it creates a task. */
export interface TaskInit {
  method: string;
  args?: readonly unknown[];
  kwargs?: Readonly<Record<string, unknown>>;
  /** @default 'default' */
  topic?: string;
  /** @default 'json' */
  serializationMethod?: SerializationMethod;
  /** Send the inputs back with the result. @default true */
  keepInputs?: boolean;
  /** Free-form metadata echoed back with the result. @default {} */
  taskInfo?: Record<string, unknown>;
  resources?: ResourceRequirementsInit;
  /** Re-run a failed task up to this many times. @default 0 */
  maxRetries?: number;
  /** Stop the task if it runs longer than this (counted from when the task server starts it). */
  timeoutMs?: number | null;
  taskId?: string;
}

/**
 * One task and, once it has run, its outcome: the unit that travels between thinker and task
 * server. It carries its inputs (encoded), its value, and a full timing record.
 *
 * Times are in seconds (epoch seconds for {@link Result.timestamp}), as in Python Colmena.
 *
 * @typeParam TMethod - the method name; a union of results narrows `value` by `method`.
 * @typeParam TValue - what the method returns.
 */
export class Result<TMethod extends string = string, TValue = unknown> {
  taskId: string;
  method: TMethod;
  topic: string;
  /** `true` or `false` once the task has run; `null` before. */
  success: boolean | null = null;
  /**
   * `true` for a final result, `false` for an intermediate one streamed by a generator method,
   * `null` if the method never ran (Python's answer to an unknown method). Only an intermediate
   * result (`false`) leaves the task active.
   */
  complete: boolean | null = null;
  taskInfo: Record<string, unknown>;
  resources: ResourceRequirements;
  failureInfo: FailureInformation | null = null;
  workerInfo: WorkerInformation | null = null;
  /** Encoded sizes in bytes. */
  messageSizes: { inputs?: number; value?: number } = {};
  timestamp: Timestamps = emptyTimestamps();
  time: Durations = emptyDurations();
  serializationMethod: SerializationMethod;
  keepInputs: boolean;
  maxRetries: number;
  /** Stop the task after this long on the task server; `null` for no limit. */
  timeoutMs: number | null;
  /** Where the worker puts a value too large for the result message; `null` to always send it inline. */
  valueProxy: ValueProxySettings | null = null;
  retries = 0;
  /** Failed runs of this task before the one reported, newest last. */
  failedAttempts: FailedAttempt[] = [];
  /** Encoded `[args, kwargs]`. */
  inputs: EncodedInputs = [[], {}];
  /** Encoded value as it travels; decoded into {@link value} on receipt. */
  encodedValue: Encoded | null = null;
  /** The method's return value, once decoded. */
  value: TValue | undefined = undefined;

  constructor(init: Omit<TaskInit, 'args' | 'kwargs'> & { method: TMethod }) {
    this.taskId = init.taskId ?? randomUUID();
    this.method = init.method;
    this.topic = init.topic ?? 'default';
    this.serializationMethod = init.serializationMethod ?? 'json';
    this.keepInputs = init.keepInputs ?? true;
    this.taskInfo = init.taskInfo ?? {};
    this.resources = init.resources instanceof ResourceRequirements ? init.resources : new ResourceRequirements(init.resources);
    this.maxRetries = init.maxRetries ?? 0;
    if (!Number.isInteger(this.maxRetries) || this.maxRetries < 0) {
      throw new InvalidArgumentError(`maxRetries must be a non-negative integer, got ${String(init.maxRetries)}`);
    }
    this.timeoutMs = init.timeoutMs ?? null;
    if (this.timeoutMs !== null && !(this.timeoutMs > 0 && Number.isFinite(this.timeoutMs))) {
      throw new InvalidArgumentError(`timeoutMs must be a positive number of milliseconds, got ${String(init.timeoutMs)}`);
    }
  }

  /** Create a task and encode its inputs, timing the encoding. Throws a SerializationError naming the bad argument. */
  static create<TMethod extends string>(init: TaskInit & { method: TMethod }): Result<TMethod> {
    const result = new Result<TMethod>(init);
    result.timestamp.created = nowSeconds();
    const started = performance.now();
    result.inputs = encodeInputs(result.serializationMethod, init.args ?? [], init.kwargs ?? {});
    result.time.serializeInputs = secondsSince(started);
    return result;
  }

  /** Decoded positional arguments (empty if the inputs were not kept). */
  get args(): unknown[] {
    return decodeInputs(this.serializationMethod, this.inputs)[0];
  }

  /** Decoded keyword arguments (empty if the inputs were not kept). */
  get kwargs(): Record<string, unknown> {
    return decodeInputs(this.serializationMethod, this.inputs)[1];
  }

  /** The task was stopped because it ran past its `timeoutMs`. */
  get timedOut(): boolean {
    return this.failureInfo?.reason === 'timeout';
  }

  /** The task was cancelled before it finished. */
  get cancelled(): boolean {
    return this.failureInfo?.reason === 'cancelled';
  }

  /** MPI ranks the task asks for: `cpuProcesses × nodeCount` (see {@link ResourceRequirements.totalRanks}). */
  get totalRanks(): number {
    return this.resources.totalRanks;
  }

  /**
   * Decode {@link encodedValue} into {@link value}, timing it. Called by the queues on receipt.
   * No value on the wire (a method that returned nothing, Python's `None`, a failure) is `null`.
   */
  decodeValue(): void {
    if (this.encodedValue === null) {
      // A success without a value is Python's None; a failure has no value at all.
      if (this.success === true) this.value = null as TValue;
      return;
    }
    const started = performance.now();
    this.value = decodeValue(this.serializationMethod, this.encodedValue) as TValue;
    this.time.deserializeResults = secondsSince(started);
  }

  /** Record a failure that happened outside the method (unknown method, bad message, crash). */
  fail(failure: FailureInformation, complete: boolean | null = true): this {
    this.success = false;
    this.complete = complete;
    this.failureInfo = failure;
    this.encodedValue = null;
    this.value = undefined;
    return this;
  }

  /**
   * This result in Colmena's JSON form, byte for byte as Python's `result.json()` writes it
   * (Colmena's fields only, in its order). Read it back with `fromColmenaJSON`.
   */
  toColmenaJSON(): string {
    return writeColmenaJSON(this);
  }

  /** Drop the inputs when the task asked not to keep them. */
  applyKeepInputs(): void {
    if (!this.keepInputs) this.inputs = [[], {}];
  }

  /** A fresh result carrying over identity and request fields, for an intermediate (streamed) value. */
  cloneRequest(): Result<TMethod, TValue> {
    const copy = new Result<TMethod, TValue>({
      taskId: this.taskId,
      method: this.method,
      topic: this.topic,
      serializationMethod: this.serializationMethod,
      keepInputs: this.keepInputs,
      taskInfo: this.taskInfo,
      resources: this.resources,
      maxRetries: this.maxRetries,
      timeoutMs: this.timeoutMs,
    });
    copy.retries = this.retries;
    copy.valueProxy = this.valueProxy;
    copy.timestamp = { ...this.timestamp };
    copy.time = { ...this.time, proxy: { ...this.time.proxy }, additional: { ...this.time.additional } };
    copy.messageSizes = { ...this.messageSizes };
    copy.inputs = this.inputs;
    return copy;
  }
}
