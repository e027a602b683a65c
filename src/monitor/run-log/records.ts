/**
 * The lines of a run log: one JSON object per line, each with a `type` and `t` (when it was
 * recorded, epoch seconds). Unset times are written as `null` (JSON has no NaN) and read back as
 * `NaN`, the library's "unset".
 */
import type { Result } from '../../models/result.js';
import type { Durations, Timestamps } from '../../models/timing.js';
import { nonFiniteToNull } from './strict-json.js';

/** Bumped when a change would make an older reader misread a log. */
export const RUN_LOG_VERSION = 1;

/**
 * The `task` line of a task or result: its Colmena message goes in as the wire codec wrote it
 * (no second encoding; `NaN` made `null`), so the line costs one `encodeWireMessage` and a scan.
 * The encoder is passed in: the wire codec loads zod, which the core import leaves out until a
 * run log with `tasks: true` is opened.
 */
export function taskLine(stage: TaskRecord['stage'], result: Result, t: number, encodeWireMessage: (result: Result) => string): string {
  return `{"type":"task","t":${num(t)},"stage":"${stage}","taskId":${JSON.stringify(result.taskId)},"colmena":${nonFiniteToNull(encodeWireMessage(result))}}\n`;
}

/** Where a task ran, as the run log keeps it. */
export interface WorkerRef {
  hostname: string;
  pid: number | null;
  workerId: string | null;
  /**
   * The nodes the task ran on, when an allocation executor placed it (worker info `hosts`); absent
   * otherwise, when it ran on `hostname` (see {@link nodesOf}).
   */
  hosts?: string[];
  /** The accelerator ids it held (worker info `gpu_ids`: an allocation placement or a pinned process); absent when none. */
  gpuIds?: string[];
  /**
   * When an allocation executor granted the task its nodes and took them back (worker info
   * `placed_at`, `released_at`, epoch seconds): node-seconds held are `hosts × (releasedAt − placedAt)`.
   */
  placedAt?: number;
  releasedAt?: number;
}

/** The nodes a task ran on: its placement's hosts, else the worker's own host. For node utilization. */
export function nodesOf(worker: WorkerRef): string[] {
  return worker.hosts ?? [worker.hostname];
}

/** The measured durations of a task, in seconds (per-reference proxy times are not kept). */
export type RecordedDurations = Omit<Durations, 'proxy'>;

/** A failed run of a task that was then retried: it occupied a worker too. */
export interface RecordedAttempt {
  computeStarted: number;
  computeEnded: number;
  worker: WorkerRef | null;
}

/** First line: what wrote the log. */
export interface StartRecord {
  type: 'start';
  t: number;
  version: number;
  hostname: string;
  pid: number;
  /** Free-form description given by the campaign (name, parameters). */
  meta: Record<string, unknown>;
}

/** A task was sent (thinker side). */
export interface SentRecord {
  type: 'sent';
  t: number;
  taskId: string;
  method: string;
  topic: string;
  /** `timestamp.created` of the task. */
  created: number;
}

/** A result was taken by the thinker (or sent by a task server logging on its own). */
export interface ResultRecord {
  type: 'result';
  t: number;
  taskId: string;
  method: string;
  topic: string;
  success: boolean | null;
  complete: boolean | null;
  retries: number;
  worker: WorkerRef | null;
  timestamp: Timestamps;
  time: RecordedDurations;
  /** Encoded sizes in bytes. */
  sizes: { inputs?: number; value?: number };
  failure: { name: string; message: string; reason: string | null } | null;
  /** Present only when the task was retried. */
  failedAttempts?: RecordedAttempt[];
}

/** A task server started or stopped. */
export type ServerRecord =
  | {
      type: 'server';
      t: number;
      event: 'started';
      /** Label of the server, to tell several apart. */
      server: string;
      methods: string[];
      /** Workers it runs tasks on, when the campaign said. */
      workers: number | null;
    }
  | { type: 'server'; t: number; event: 'stopped'; server: string; reason: string };

/** An agent of the thinker started or stopped. */
export interface AgentRecord {
  type: 'agent';
  t: number;
  event: 'started' | 'stopped';
  agent: string;
  /** Set on `stopped`: whether the agent threw. */
  failed?: boolean;
}

/** An event of the thinker (an `AsyncEvent` property) was set. */
export interface EventRecord {
  type: 'event';
  t: number;
  name: string;
}

/** Slots of one pool of a resource counter. `pool: null` is the unallocated pool. */
export interface PoolSlots {
  pool: string | null;
  allocated: number;
  /** Slots acquired (allocated and not available). */
  busy: number;
}

/** The slot counts of every pool after a change to a resource counter. */
export interface SlotsRecord {
  type: 'slots';
  t: number;
  change: { kind: string; pool?: string | null; from?: string | null; to?: string | null; slots: number };
  pools: PoolSlots[];
}

/** A value the campaign chose to track (e.g. the best objective so far). */
export interface ValueRecord {
  type: 'value';
  t: number;
  name: string;
  value: number;
}

/**
 * A task's whole Colmena message, written only when the run log was opened with `tasks: true`:
 * at `stage: 'sent'` the request (inputs, options), at `stage: 'result'` the final result (value,
 * and inputs if the task kept them). `colmena` is exactly Python Colmena's JSON result form (see
 * `models/wire.ts`); msgpack inputs and values appear there as base64, as on the wire. Values
 * that travelled by reference appear as their reference when the queues did not resolve them.
 * Unset times, which Colmena writes as bare `NaN`, are `null` here so the line stays strict JSON.
 */
export interface TaskRecord {
  type: 'task';
  t: number;
  stage: 'sent' | 'result';
  taskId: string;
  colmena: Record<string, unknown>;
}

/**
 * A campaign was resumed from this record (see `docs/resume.md`). Task ids listed in `resent` and
 * `abandoned` are closed: a later resume does not take them as in flight again.
 */
export interface ResumeRecord {
  type: 'resume';
  t: number;
  /** Completed results handed back to the thinker. */
  replayed: number;
  /** In-flight tasks whose results the new thinker claimed by id. */
  adopted: string[];
  /** In-flight tasks sent again, with the id each was sent again as. */
  resent: { taskId: string; as: string }[];
  /** In-flight tasks the thinker chose to neither adopt nor re-send (e.g. it queued their work again itself). */
  abandoned: string[];
}

/** Last line of a log that was closed properly. */
export interface EndRecord {
  type: 'end';
  t: number;
}

export type RunLogRecord =
  | StartRecord
  | SentRecord
  | ResultRecord
  | ServerRecord
  | AgentRecord
  | EventRecord
  | SlotsRecord
  | ValueRecord
  | TaskRecord
  | ResumeRecord
  | EndRecord;

export type RunLogRecordType = RunLogRecord['type'];

/**
 * The result record of a Result: timings and identity only, never inputs or values. It shares
 * objects with the Result, so serialize it at once.
 */
export function resultRecord(result: Result, t: number): ResultRecord {
  const { time, failureInfo } = result;
  const record: ResultRecord = {
    type: 'result',
    t,
    taskId: result.taskId,
    method: result.method,
    topic: result.topic,
    success: result.success,
    complete: result.complete,
    retries: result.retries,
    worker: workerRef(result.workerInfo),
    timestamp: result.timestamp,
    time: {
      running: ns(time.running),
      serializeInputs: ns(time.serializeInputs),
      deserializeInputs: ns(time.deserializeInputs),
      serializeResults: ns(time.serializeResults),
      deserializeResults: ns(time.deserializeResults),
      asyncResolveProxies: ns(time.asyncResolveProxies),
      additional: time.additional,
    },
    sizes: result.messageSizes,
    failure: failureInfo === null ? null : { name: failureInfo.name, message: failureInfo.message, reason: failureInfo.reason ?? null },
  };
  if (result.failedAttempts.length > 0) {
    record.failedAttempts = result.failedAttempts.map((attempt) => ({
      computeStarted: attempt.computeStarted,
      computeEnded: attempt.computeEnded,
      worker: workerRef(attempt.workerInfo),
    }));
  }
  return record;
}

function workerRef(info: Result['workerInfo']): WorkerRef | null {
  if (info === null) return null;
  const ref: WorkerRef = { hostname: info.hostname, pid: info.pid ?? null, workerId: info.workerId ?? null };
  // Worker info's extra keys come from other processes as they wrote them: keep only string lists.
  if (isStringList(info.hosts)) ref.hosts = [...info.hosts];
  if (isStringList(info.gpu_ids)) ref.gpuIds = [...info.gpu_ids];
  if (typeof info.placed_at === 'number' && Number.isFinite(info.placed_at)) ref.placedAt = info.placed_at;
  if (typeof info.released_at === 'number' && Number.isFinite(info.released_at)) ref.releasedAt = info.released_at;
  return ref;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/**
 * The JSON line of {@link resultRecord}, written by hand: it runs for every result on the task
 * path, and this is about twice as fast as `JSON.stringify(resultRecord(...))` (a test checks
 * both give the same record).
 */
export function resultLine(result: Result, t: number): string {
  const ts = result.timestamp;
  const d = result.time;
  const f = result.failureInfo;
  const failure = f === null ? 'null' : JSON.stringify({ name: f.name, message: f.message, reason: f.reason ?? null });
  const attempts = result.failedAttempts.length > 0 ? `,"failedAttempts":${JSON.stringify(resultRecord(result, t).failedAttempts)}` : '';
  return (
    `{"type":"result","t":${num(t)},"taskId":${JSON.stringify(result.taskId)},"method":${JSON.stringify(result.method)},` +
    `"topic":${JSON.stringify(result.topic)},"success":${result.success},"complete":${result.complete},"retries":${num(result.retries)},` +
    `"worker":${JSON.stringify(workerRef(result.workerInfo))},` +
    `"timestamp":{"created":${num(ts.created)},"inputReceived":${num(ts.inputReceived)},"computeStarted":${num(ts.computeStarted)},` +
    `"computeEnded":${num(ts.computeEnded)},"resultSent":${num(ts.resultSent)},"resultReceived":${num(ts.resultReceived)},` +
    `"startTaskSubmission":${num(ts.startTaskSubmission)},"taskReceived":${num(ts.taskReceived)}},` +
    `"time":{"running":${num(ns(d.running))},"serializeInputs":${num(ns(d.serializeInputs))},"deserializeInputs":${num(ns(d.deserializeInputs))},` +
    `"serializeResults":${num(ns(d.serializeResults))},"deserializeResults":${num(ns(d.deserializeResults))},` +
    `"asyncResolveProxies":${num(ns(d.asyncResolveProxies))},"additional":${JSON.stringify(d.additional)}},` +
    `"sizes":${JSON.stringify(result.messageSizes)},"failure":${failure}${attempts}}\n`
  );
}

/**
 * A duration rounded to the nanosecond: no information is lost (timers resolve microseconds) and
 * `0.000006520000000023174` becomes `0.00000652`, keeping lines short.
 */
function ns(seconds: number): number {
  return Math.round(seconds * 1e9) / 1e9;
}

/** A number as JSON writes it: NaN and infinities become null. */
function num(value: number): string {
  return Number.isFinite(value) ? `${value}` : 'null';
}
