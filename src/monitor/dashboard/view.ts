/**
 * What the page receives: one JSON document per update, bounded in size whatever the length of the
 * campaign. Times are seconds since `campaign.origin` (epoch seconds).
 */
import type { LatencyPart } from '../report/stats.js';
import type { HistogramSummary } from './histogram.js';

export const VIEW_VERSION = 1;

export interface TaskRow {
  method: string;
  topic: string;
  /** Sent, not yet running (see {@link DashboardView.totals}.runningKnown). */
  queued: number;
  running: number;
  /** Final results that succeeded. */
  done: number;
  failed: number;
  /** Finished tasks that needed at least one retry. */
  retried: number;
}

export interface UtilizationView {
  /** A resource counter's pool, or `workers` for the task servers' workers. */
  name: string;
  source: 'resource-counter' | 'tasks' | 'placements';
  capacityLabel: 'allocated' | 'workers' | 'workers seen' | 'nodes seen';
  /** Width of each point, in seconds; point i covers [i × binSeconds, (i + 1) × binSeconds). */
  binSeconds: number;
  /** Average slots (or workers) available in each bin. */
  capacity: number[];
  /** Average slots (or workers) busy in each bin. */
  busy: number[];
  /** Busy over available, over the whole campaign so far. */
  utilization: number;
}

/** One run of a task on a worker: [seq, row, method, start, end, outcome] with outcome 0 succeeded, 1 failed, 2 failed and retried. */
export type SpanTuple = [number, number, number, number, number, 0 | 1 | 2];

export interface StreamView {
  /** Row labels, by row index (the order workers were first seen); the page sorts them. */
  rows: string[];
  /** Method names, by index. */
  methods: string[];
  /** Runs newer than the ones the page already has, oldest first. */
  spans: SpanTuple[];
  /** Sequence number of the newest run (0 before any). */
  lastSeq: number;
}

export interface LatencyView {
  parts: { part: LatencyPart; label: string; definition: string }[];
  methods: { method: string; count: number; parts: Record<LatencyPart, HistogramSummary> }[];
}

export interface FailureView {
  t: number;
  taskId: string;
  method: string;
  topic: string;
  name: string;
  message: string;
  reason: string | null;
  retries: number;
  worker: string | null;
  stack: string | null;
}

export interface AgentView {
  name: string;
  state: 'running' | 'stopped' | 'failed';
  since: number;
}

export interface ServerView {
  name: string;
  state: 'running' | 'stopped';
  methods: string[];
  workers: number | null;
  inFlight: number | null;
  since: number;
}

export interface DashboardView {
  version: typeof VIEW_VERSION;
  /** Increases whenever anything changed. */
  seq: number;
  campaign: {
    origin: number;
    hostname: string | null;
    pid: number | null;
    meta: Record<string, unknown>;
    /** The campaign said it ended (its publisher or dashboard was closed). */
    ended: boolean;
  };
  /** Seconds since the origin when this view was made. */
  now: number;
  totals: {
    sent: number;
    queued: number;
    running: number;
    done: number;
    failed: number;
    /**
     * Whether queued and running could be told apart: it takes a task server the dashboard
     * observes. Running is then estimated as the oldest tasks in flight, up to the number of
     * tasks the servers have in hand (capped by their workers).
     */
    runningKnown: boolean;
    /** Final results per second over about the last ten seconds. */
    throughput: number;
  };
  tasks: TaskRow[];
  utilization: UtilizationView[];
  stream: StreamView;
  latency: LatencyView;
  /** Most recent first. */
  failures: FailureView[];
  agents: AgentView[];
  /** The thinker's and servers' recent events, most recent first. */
  events: { t: number; label: string }[];
  /** Each pool of the resource counter now. `pool: null` is the unallocated pool. */
  pools: { pool: string | null; allocated: number; busy: number }[];
  servers: ServerView[];
  /** Values the campaign recorded, as [t, value] points. */
  values: { name: string; points: [number, number][] }[];
}
