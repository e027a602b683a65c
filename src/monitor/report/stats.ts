/** What a campaign did, computed from its run log: counts, latency parts, utilization, values. */
import type { ParsedRunLog } from '../run-log/reader.js';
import type { ResultRecord, RunLogRecord, SlotsRecord } from '../run-log/records.js';
import { type Distribution, distribution, integrate, maxOf, minOf, type StepPoint, stepFromDeltas } from './series.js';
import { type PlacedSpan, placeSpans, type TaskSpan, workerKey } from './workers.js';

/** The parts of a task's life, in the order a task goes through them. */
export const LATENCY_PARTS = ['dispatch', 'queueWait', 'running', 'resultDelay', 'serialization', 'reaction'] as const;
export type LatencyPart = (typeof LATENCY_PARTS)[number];

/** How each part is measured (all from the Result's timestamps and durations). */
export const LATENCY_PARTS_HELP: Record<LatencyPart, { label: string; definition: string }> = {
  dispatch: { label: 'dispatch delay', definition: 'created → taken by the task server (inputReceived − created)' },
  queueWait: { label: 'queue wait', definition: 'taken by the task server → method started on a worker (computeStarted − inputReceived)' },
  running: { label: 'running', definition: 'the method itself (time.running)' },
  resultDelay: { label: 'result delay', definition: 'method ended → result taken by the thinker (resultReceived − computeEnded)' },
  serialization: { label: 'serialization', definition: 'encoding and decoding inputs and value, summed' },
  reaction: { label: 'reaction', definition: "result taken by the thinker → the thinker's next task created" },
};

export interface MethodSummary {
  method: string;
  /** Final results (intermediate results of streaming methods are not counted). */
  tasks: number;
  succeeded: number;
  failed: number;
  /** Tasks that needed at least one retry. */
  retried: number;
  latency: Record<LatencyPart, Distribution>;
}

/** One task's latency parts, in seconds (NaN where not measured). */
export interface TaskLatency {
  method: string;
  parts: Record<LatencyPart, number>;
}

/**
 * Utilization of one pool of slots over time: slots it had (`capacity`) and slots in use
 * (`busy`, one series per method for the workers panel).
 */
export interface UtilizationPanel {
  /** A resource counter's pool name, or `workers` for utilization measured from the tasks themselves. */
  name: string;
  source: 'resource-counter' | 'tasks' | 'placements';
  /**
   * What the capacity is: slots allocated to the pool, workers declared by the task servers,
   * workers seen in results, or the nodes that placed tasks were given.
   */
  capacityLabel: 'allocated' | 'workers' | 'workers seen' | 'nodes seen';
  capacity: StepPoint[];
  busy: { series: string; points: StepPoint[] }[];
  /** Integrals over the campaign window, in slot-seconds. */
  capacitySeconds: number;
  busySeconds: number;
  /** busySeconds / capacitySeconds. */
  utilization: number;
}

/** Something that happened, for the trace and the charts. Times are seconds since {@link RunSummary.origin}. */
export interface TimelineEvent {
  t: number;
  kind: 'server-started' | 'server-stopped' | 'agent-started' | 'agent-stopped' | 'event-set';
  label: string;
}

export interface RunSummary {
  /** Epoch seconds of time 0: the first line of the log. All other times are relative to it. */
  origin: number;
  /** From the first task created to the last result taken (relative seconds); utilization is measured over it. */
  window: { start: number; end: number; seconds: number };
  tasks: number;
  succeeded: number;
  failed: number;
  /** Final results per second over the window. */
  throughput: number;
  methods: MethodSummary[];
  utilization: UtilizationPanel[];
  /** Every run of every task on its worker row, for the task stream. */
  stream: PlacedSpan[];
  /** Rows of the task stream, in order. */
  workers: string[];
  latencies: TaskLatency[];
  /** Values the campaign recorded, by name. */
  values: Record<string, StepPoint[]>;
  events: TimelineEvent[];
}

/** Summarize a parsed run log. */
export function summarize(log: Pick<ParsedRunLog, 'records'>): RunSummary {
  const records = log.records;
  const origin = records.find((r) => r.type === 'start')?.t ?? minOf(records.map((r) => r.t));
  const results = finalResults(records);
  const rel = (epoch: number): number => epoch - origin;

  const created = records.filter((r) => r.type === 'sent').map((r) => r.created);
  const creations = (created.length > 0 ? created : results.map((r) => r.timestamp.created)).filter(Number.isFinite).sort((a, b) => a - b);
  const received = results.map((r) => r.timestamp.resultReceived).filter(Number.isFinite);
  const lastTimes = received.length > 0 ? received : results.map((r) => r.t);
  const windowStart = rel(creations[0] ?? origin);
  const windowEnd = lastTimes.length > 0 ? rel(maxOf(lastTimes)) : rel(maxOf(records.map((r) => r.t)));
  const window = { start: windowStart, end: windowEnd, seconds: Math.max(0, windowEnd - windowStart) };

  const latencies = results.map((r) => ({ method: r.method, parts: latencyParts(r, creations) }));
  const methods = summarizeMethods(results, latencies);
  const spans = taskSpans(results, rel);
  const placed = placeSpans(spans);
  const succeeded = results.filter((r) => r.success === true).length;

  return {
    origin,
    window,
    tasks: results.length,
    succeeded,
    failed: results.length - succeeded,
    throughput: window.seconds > 0 ? results.length / window.seconds : NaN,
    methods,
    utilization: [...poolPanels(records, rel, window), workersPanel(records, spans, rel, window), nodesPanel(results, rel, window)].filter((p) => p !== null),
    stream: placed.spans,
    workers: placed.rows,
    latencies,
    values: valueSeries(records, rel),
    events: timelineEvents(records, rel),
  };
}

/** Final results, one per task (a result logged by both a task server and the thinker is kept once, the thinker's). */
function finalResults(records: readonly RunLogRecord[]): ResultRecord[] {
  const byTask = new Map<string, ResultRecord>();
  for (const record of records) {
    if (record.type !== 'result' || record.complete === false) continue;
    const seen = byTask.get(record.taskId);
    if (seen === undefined || (!Number.isFinite(seen.timestamp.resultReceived) && Number.isFinite(record.timestamp.resultReceived))) {
      byTask.set(record.taskId, record);
    }
  }
  return [...byTask.values()];
}

/**
 * A task's latency parts. `reaction` needs the creation times of the campaign's tasks, sorted;
 * pass none to leave it NaN (the live dashboard measures it as tasks are sent).
 */
export function latencyParts(r: ResultRecord, sortedCreations: readonly number[]): Record<LatencyPart, number> {
  const ts = r.timestamp;
  const serialization = [r.time.serializeInputs, r.time.deserializeInputs, r.time.serializeResults, r.time.deserializeResults].filter(Number.isFinite);
  return {
    dispatch: ts.inputReceived - ts.created,
    queueWait: ts.computeStarted - ts.inputReceived,
    running: Number.isFinite(r.time.running) ? r.time.running : ts.computeEnded - ts.computeStarted,
    resultDelay: ts.resultReceived - ts.computeEnded,
    serialization: serialization.length > 0 ? serialization.reduce((a, b) => a + b, 0) : NaN,
    reaction: Number.isFinite(ts.resultReceived) ? nextAfter(sortedCreations, ts.resultReceived) - ts.resultReceived : NaN,
  };
}

/** The first value strictly after `t` in sorted values, or NaN. */
function nextAfter(sorted: readonly number[], t: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! <= t) low = mid + 1;
    else high = mid;
  }
  return sorted[low] ?? NaN;
}

function summarizeMethods(results: readonly ResultRecord[], latencies: readonly TaskLatency[]): MethodSummary[] {
  const names = [...new Set(results.map((r) => r.method))].sort();
  return names.map((method) => {
    const mine = results.filter((r) => r.method === method);
    const parts = latencies.filter((l) => l.method === method);
    const succeeded = mine.filter((r) => r.success === true).length;
    const latency = Object.fromEntries(LATENCY_PARTS.map((part) => [part, distribution(parts.map((l) => l.parts[part]))])) as Record<
      LatencyPart,
      Distribution
    >;
    return { method, tasks: mine.length, succeeded, failed: mine.length - succeeded, retried: mine.filter((r) => r.retries > 0).length, latency };
  });
}

/** Each run of each task (retried failures included: they held a worker too). */
function taskSpans(results: readonly ResultRecord[], rel: (t: number) => number): TaskSpan[] {
  const spans: TaskSpan[] = [];
  for (const r of results) {
    for (const attempt of r.failedAttempts ?? []) {
      if (Number.isFinite(attempt.computeStarted) && Number.isFinite(attempt.computeEnded)) {
        spans.push({
          taskId: r.taskId,
          method: r.method,
          success: false,
          retried: true,
          workerKey: workerKey(attempt.worker),
          start: rel(attempt.computeStarted),
          end: rel(attempt.computeEnded),
        });
      }
    }
    const { computeStarted, computeEnded } = r.timestamp;
    if (Number.isFinite(computeStarted) && Number.isFinite(computeEnded)) {
      spans.push({
        taskId: r.taskId,
        method: r.method,
        success: r.success === true,
        retried: false,
        workerKey: workerKey(r.worker),
        start: rel(computeStarted),
        end: rel(computeEnded),
      });
    }
  }
  return spans;
}

/** One panel per resource-counter pool that ever held slots. */
function poolPanels(records: readonly RunLogRecord[], rel: (t: number) => number, window: RunSummary['window']): UtilizationPanel[] {
  const slots = records.filter((r): r is SlotsRecord => r.type === 'slots').sort((a, b) => a.t - b.t);
  const pools = new Map<string | null, { capacity: StepPoint[]; busy: StepPoint[] }>();
  for (const record of slots) {
    for (const p of record.pools) {
      let series = pools.get(p.pool);
      if (!series) pools.set(p.pool, (series = { capacity: [], busy: [] }));
      series.capacity.push({ t: rel(record.t), value: p.allocated });
      series.busy.push({ t: rel(record.t), value: p.busy });
    }
  }
  const panels: UtilizationPanel[] = [];
  for (const [pool, series] of pools) {
    if (!series.capacity.some((p) => p.value > 0)) continue;
    const capacitySeconds = integrate(series.capacity, window.start, window.end);
    // A pool that held slots only outside the measured window (e.g. the unallocated pool before
    // the first task) has nothing to chart.
    if (!(capacitySeconds > 0)) continue;
    const busySeconds = integrate(series.busy, window.start, window.end);
    panels.push({
      name: pool ?? '(unallocated)',
      source: 'resource-counter',
      capacityLabel: 'allocated',
      capacity: series.capacity,
      busy: [{ series: 'slots in use', points: series.busy }],
      capacitySeconds,
      busySeconds,
      utilization: busySeconds / capacitySeconds,
    });
  }
  return panels;
}

/**
 * Workers busy running tasks, per method, against the workers the task servers declared (or,
 * failing that, the distinct workers seen in results).
 */
function workersPanel(
  records: readonly RunLogRecord[],
  spans: readonly TaskSpan[],
  rel: (t: number) => number,
  window: RunSummary['window'],
): UtilizationPanel | null {
  if (spans.length === 0) return null;
  const capacityDeltas: { t: number; delta: number }[] = [];
  const declared = new Map<string, number>();
  for (const record of records) {
    if (record.type !== 'server') continue;
    if (record.event === 'started' && record.workers !== null) {
      declared.set(record.server, record.workers);
      capacityDeltas.push({ t: rel(record.t), delta: record.workers });
    } else if (record.event === 'stopped' && declared.has(record.server)) {
      capacityDeltas.push({ t: rel(record.t), delta: -declared.get(record.server)! });
      declared.delete(record.server);
    }
  }
  let capacity: StepPoint[];
  let capacityLabel: UtilizationPanel['capacityLabel'];
  if (capacityDeltas.length > 0) {
    capacity = stepFromDeltas(capacityDeltas);
    capacityLabel = 'workers';
  } else {
    const seen = new Set(spans.map((s) => s.workerKey)).size;
    capacity = [
      { t: Math.min(window.start, minOf(spans.map((s) => s.start))), value: seen },
      { t: Math.max(window.end, maxOf(spans.map((s) => s.end))), value: 0 },
    ];
    capacityLabel = 'workers seen';
  }
  const methods = [...new Set(spans.map((s) => s.method))].sort();
  const busy = methods.map((method) => ({
    series: method,
    points: stepFromDeltas(spans.filter((s) => s.method === method).flatMap((s) => [{ t: s.start, delta: 1 }, { t: s.end, delta: -1 }])),
  }));
  const capacitySeconds = integrate(capacity, window.start, window.end);
  const busySeconds = busy.reduce((sum, b) => sum + integrate(b.points, window.start, window.end), 0);
  return {
    name: 'workers',
    source: 'tasks',
    capacityLabel,
    capacity,
    busy,
    capacitySeconds,
    busySeconds,
    utilization: capacitySeconds > 0 ? busySeconds / capacitySeconds : NaN,
  };
}

/**
 * Nodes held by tasks an allocation executor placed (their worker's `hosts`, from `placedAt` to
 * `releasedAt`), per method, against the distinct nodes seen; null when no task was placed.
 */
function nodesPanel(results: readonly ResultRecord[], rel: (t: number) => number, window: RunSummary['window']): UtilizationPanel | null {
  const holds = results.flatMap((r) => {
    const w = r.worker;
    if (!w?.hosts || w.placedAt === undefined || w.releasedAt === undefined) return [];
    return [{ method: r.method, hosts: w.hosts, start: rel(w.placedAt), end: rel(w.releasedAt) }];
  });
  if (holds.length === 0) return null;
  const nodes = new Set(holds.flatMap((h) => h.hosts)).size;
  const capacity = [
    { t: Math.min(window.start, minOf(holds.map((h) => h.start))), value: nodes },
    { t: Math.max(window.end, maxOf(holds.map((h) => h.end))), value: 0 },
  ];
  const methods = [...new Set(holds.map((h) => h.method))].sort();
  const busy = methods.map((method) => ({
    series: method,
    points: stepFromDeltas(
      holds.filter((h) => h.method === method).flatMap((h) => [
        { t: h.start, delta: h.hosts.length },
        { t: h.end, delta: -h.hosts.length },
      ]),
    ),
  }));
  const capacitySeconds = integrate(capacity, window.start, window.end);
  const busySeconds = busy.reduce((sum, b) => sum + integrate(b.points, window.start, window.end), 0);
  return {
    name: 'nodes',
    source: 'placements',
    capacityLabel: 'nodes seen',
    capacity,
    busy,
    capacitySeconds,
    busySeconds,
    utilization: capacitySeconds > 0 ? busySeconds / capacitySeconds : NaN,
  };
}

function valueSeries(records: readonly RunLogRecord[], rel: (t: number) => number): Record<string, StepPoint[]> {
  const values: Record<string, StepPoint[]> = {};
  for (const record of records) {
    if (record.type === 'value') (values[record.name] ??= []).push({ t: rel(record.t), value: record.value });
  }
  for (const points of Object.values(values)) points.sort((a, b) => a.t - b.t);
  return values;
}

function timelineEvents(records: readonly RunLogRecord[], rel: (t: number) => number): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  for (const r of records) {
    if (r.type === 'server') {
      const label = r.event === 'started' ? `${r.server} started (${r.methods.join(', ')})` : `${r.server} stopped (${r.reason})`;
      events.push({ t: rel(r.t), kind: r.event === 'started' ? 'server-started' : 'server-stopped', label });
    } else if (r.type === 'agent') {
      const label = r.event === 'started' ? `agent ${r.agent} started` : `agent ${r.agent} ${r.failed ? 'failed' : 'stopped'}`;
      events.push({ t: rel(r.t), kind: r.event === 'started' ? 'agent-started' : 'agent-stopped', label });
    } else if (r.type === 'event') {
      events.push({ t: rel(r.t), kind: 'event-set', label: `event ${r.name} set` });
    }
  }
  return events.sort((a, b) => a.t - b.t);
}
