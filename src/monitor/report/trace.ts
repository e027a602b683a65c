/**
 * The task stream as a Chrome trace (the JSON "Trace Event Format"), which Perfetto
 * (ui.perfetto.dev) and chrome://tracing open: one track per worker row with a slice per run of a
 * task, counters for utilization and recorded values, and instants for thinker and server events.
 */
import { alignSteps } from './series.js';
import type { RunSummary } from './stats.js';

export type TraceEvent =
  | { name: string; ph: 'X'; cat: string; ts: number; dur: number; pid: number; tid: number; args: Record<string, unknown> }
  | { name: string; ph: 'C'; ts: number; pid: number; args: Record<string, number> }
  | { name: string; ph: 'i'; s: 'p'; cat: string; ts: number; pid: number; tid: number }
  | { name: 'process_name' | 'thread_name'; ph: 'M'; pid: number; tid?: number; args: { name: string } }
  | { name: 'process_sort_index' | 'thread_sort_index'; ph: 'M'; pid: number; tid?: number; args: { sort_index: number } };

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  /** Epoch seconds of ts 0, and where the trace came from. */
  otherData: Record<string, string | number>;
}

const WORKERS_PID = 1;
const CAMPAIGN_PID = 2;
/** Counter samples per series before they are averaged into bins. */
const MAX_COUNTER_POINTS = 5000;

const micros = (seconds: number): number => Math.round(seconds * 1e6);

/** Build the trace of a summarized run. Times are microseconds since the start of the log. */
export function chromeTrace(summary: RunSummary, source = 'colmena run log'): ChromeTrace {
  const events: TraceEvent[] = [
    { name: 'process_name', ph: 'M', pid: WORKERS_PID, args: { name: 'workers' } },
    { name: 'process_sort_index', ph: 'M', pid: WORKERS_PID, args: { sort_index: 1 } },
    { name: 'process_name', ph: 'M', pid: CAMPAIGN_PID, args: { name: 'campaign' } },
    { name: 'process_sort_index', ph: 'M', pid: CAMPAIGN_PID, args: { sort_index: 0 } },
    { name: 'thread_name', ph: 'M', pid: CAMPAIGN_PID, tid: 1, args: { name: 'events' } },
  ];
  const tids = new Map(summary.workers.map((row, i) => [row, i + 1]));
  for (const [row, tid] of tids) {
    events.push({ name: 'thread_name', ph: 'M', pid: WORKERS_PID, tid, args: { name: row } });
    events.push({ name: 'thread_sort_index', ph: 'M', pid: WORKERS_PID, tid, args: { sort_index: tid } });
  }
  for (const span of summary.stream) {
    const outcome = span.success ? 'succeeded' : span.retried ? 'retried' : 'failed';
    events.push({
      name: span.method,
      ph: 'X',
      cat: outcome === 'succeeded' ? 'task' : `task,${outcome}`,
      ts: micros(span.start),
      dur: Math.max(0, micros(span.end) - micros(span.start)),
      pid: WORKERS_PID,
      tid: tids.get(span.row)!,
      args: { taskId: span.taskId, outcome },
    });
  }
  const { start, end } = summary.window;
  for (const panel of summary.utilization) {
    const aligned = alignSteps([panel.capacity, ...panel.busy.map((b) => b.points)], start, end, MAX_COUNTER_POINTS);
    const names = [panel.capacityLabel, ...panel.busy.map((b) => `busy ${b.series}`)];
    aligned.t.forEach((t, i) => {
      const args = Object.fromEntries(names.map((name, j) => [name, aligned.values[j]![i]!]));
      events.push({ name: `slots: ${panel.name}`, ph: 'C', ts: micros(t), pid: CAMPAIGN_PID, args });
    });
  }
  for (const [name, points] of Object.entries(summary.values)) {
    for (const p of points) if (Number.isFinite(p.value)) events.push({ name, ph: 'C', ts: micros(p.t), pid: CAMPAIGN_PID, args: { [name]: p.value } });
  }
  for (const event of summary.events) {
    events.push({ name: event.label, ph: 'i', s: 'p', cat: event.kind, ts: micros(event.t), pid: CAMPAIGN_PID, tid: 1 });
  }
  return { traceEvents: events, displayTimeUnit: 'ms', otherData: { source, originEpochSeconds: summary.origin } };
}
