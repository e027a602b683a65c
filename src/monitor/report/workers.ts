/** Rows of the task stream: a readable label per worker, and lanes for tasks that overlap on one. */
import type { WorkerRef } from '../run-log/records.js';

/** One run of a task on a worker, in seconds since the start of the log. */
export interface TaskSpan {
  taskId: string;
  method: string;
  success: boolean;
  /** `true` for a failed run that was then retried. */
  retried: boolean;
  workerKey: string;
  start: number;
  end: number;
}

/** A span placed on its row of the task stream. */
export interface PlacedSpan extends TaskSpan {
  /** Row label: the worker, numbered when tasks overlapped on it (an inline executor runs many at once). */
  row: string;
}

const UNKNOWN = 'unknown worker';

/** A stable key for a worker. */
export function workerKey(worker: WorkerRef | null): string {
  if (worker === null) return UNKNOWN;
  return `${worker.hostname}\u0000${worker.pid ?? ''}\u0000${worker.workerId ?? ''}`;
}

/**
 * The shortest label that tells the workers apart: the worker id alone when that is unique (one
 * task server), then with the pid, then with the host too.
 */
export function workerLabels(keys: Iterable<string>): Map<string, string> {
  const unique = [...new Set(keys)];
  const parts = unique.map((key) => (key === UNKNOWN ? null : key.split('\u0000')));
  const candidates: ((p: string[]) => string)[] = [
    (p) => p[2] || `pid ${p[1]}`,
    (p) => `${p[1]}/${p[2] || '?'}`,
    (p) => `${p[0]}/${p[1]}/${p[2] || '?'}`,
  ];
  for (const make of candidates) {
    const labels = parts.map((p) => (p === null ? UNKNOWN : make(p)));
    if (new Set(labels).size === labels.length || make === candidates.at(-1)) {
      return new Map(unique.map((key, i) => [key, labels[i]!]));
    }
  }
  return new Map();
}

/**
 * Put each span on a row: its worker's label, and when spans overlap on one worker, the first lane
 * free at its start (`inline #2`). Rows come back in natural order (`thread-2` before `thread-10`).
 */
export function placeSpans(spans: readonly TaskSpan[]): { spans: PlacedSpan[]; rows: string[] } {
  const labels = workerLabels(spans.map((s) => s.workerKey));
  const byWorker = new Map<string, TaskSpan[]>();
  for (const span of spans) {
    let list = byWorker.get(span.workerKey);
    if (!list) byWorker.set(span.workerKey, (list = []));
    list.push(span);
  }
  const placed: PlacedSpan[] = [];
  const rows: string[] = [];
  for (const [key, list] of byWorker) {
    list.sort((a, b) => a.start - b.start);
    const laneEnds: number[] = [];
    const lanes = list.map((span) => {
      let lane = laneEnds.findIndex((end) => end <= span.start);
      if (lane < 0) lane = laneEnds.push(span.end) - 1;
      else laneEnds[lane] = span.end;
      return lane;
    });
    const label = labels.get(key)!;
    const rowName = (lane: number): string => (laneEnds.length > 1 ? `${label} #${lane + 1}` : label);
    list.forEach((span, i) => placed.push({ ...span, row: rowName(lanes[i]!) }));
    for (let lane = 0; lane < laneEnds.length; lane++) rows.push(rowName(lane));
  }
  const collator = new Intl.Collator('en', { numeric: true });
  rows.sort((a, b) => collator.compare(a, b));
  return { spans: placed, rows };
}
