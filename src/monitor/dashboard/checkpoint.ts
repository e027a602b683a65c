/**
 * A dashboard state as plain JSON. A campaign publishing through Redis stores one every few
 * seconds, so that `colmena dashboard` started late shows the whole campaign, not only the part
 * still in the (capped) event stream.
 */
import type { PoolSlots } from '../run-log/records.js';
import type { LatencyPart } from '../report/stats.js';
import type { Bins, StepBins } from './bins.js';
import type { LogHistogram } from './histogram.js';
import type { AgentView, FailureView, ServerView, SpanTuple } from './view.js';

export interface DashboardCheckpoint {
  version: 1;
  seq: number;
  /** `null` when no record was seen (JSON has no NaN). */
  origin: number | null;
  campaign: {
    hostname: string | null;
    pid: number | null;
    meta: Record<string, unknown>;
    ended: boolean;
    /** Relative seconds: the campaign span's start and end (absent in checkpoints of older versions). */
    firstSentAt?: number | null;
    endedAt?: number | null;
    serversStoppedAt?: number | null;
  };
  rows: { method: string; topic: string; sent: number; outstanding: number; done: number; failed: number; retried: number }[];
  /** Tasks in flight, oldest first: [task id, row]. */
  outstanding: [string, number][];
  latency: { method: string; count: number; parts: Record<LatencyPart, ReturnType<LogHistogram['toJSON']>> }[];
  awaitingReaction: [string, number][];
  servers: [string, Omit<ServerView, 'name'>][];
  pools: { pool: string | null; allocated: ReturnType<StepBins['toJSON']>; busy: ReturnType<StepBins['toJSON']>; everAllocated: boolean }[];
  currentPools: PoolSlots[];
  binSeconds: number;
  workersCapacity: ReturnType<StepBins['toJSON']>;
  workersBusy: ReturnType<Bins['toJSON']>;
  declaredWorkers: boolean;
  workerKeys: string[];
  methods: string[];
  spans: SpanTuple[];
  spanSeq: number;
  failures: FailureView[];
  agents: [string, Omit<AgentView, 'name'>][];
  events: { t: number; label: string }[];
  values: [string, [number, number][]][];
}
