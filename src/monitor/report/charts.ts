/**
 * Vega-Lite specifications of the report's charts. Data is inlined and already reduced (step
 * series aligned and capped, histograms binned here), so a chart of a million tasks stays small —
 * except the task stream, which draws one bar per run of a task.
 */
import type { TopLevelSpec } from 'vega-lite';
import { alignSteps, quantile } from './series.js';
import { LATENCY_PARTS, LATENCY_PARTS_HELP, type RunSummary } from './stats.js';
import { panelMeasure } from './utilization.js';

const WIDTH = 720;
/** Points per utilization series before it is averaged into bins (about 2 px each at the chart's width). */
const MAX_POINTS = 360;
const HISTOGRAM_BINS = 30;
/** Beyond this many runs the task stream shows the first ones only (an SVG of more is unwieldy). */
export const MAX_STREAM_BARS = 50_000;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const CONFIG = { font: 'DejaVu Sans, Helvetica, Arial, sans-serif', view: { stroke: null } } as const;

/** Slots allocated (line) against slots busy (areas, stacked by method), per pool. */
export function utilizationSpec(summary: RunSummary): TopLevelSpec {
  const rows: { panel: string; series: string; kind: 'capacity' | 'busy'; t: number; value: number }[] = [];
  const { start, end } = summary.window;
  for (const panel of summary.utilization) {
    const name = `${panelMeasure(panel)}: ${(panel.utilization * 100).toFixed(1)} %`;
    const aligned = alignSteps([panel.capacity, ...panel.busy.map((b) => b.points)], start, end, MAX_POINTS);
    aligned.t.forEach((t, i) => {
      rows.push({ panel: name, series: panel.capacityLabel, kind: 'capacity', t, value: aligned.values[0]![i]! });
      panel.busy.forEach((b, j) => rows.push({ panel: name, series: b.series, kind: 'busy', t, value: aligned.values[j + 1]![i]! }));
    });
  }
  const x = { field: 't', type: 'quantitative' as const, title: 'time (s)', scale: { domain: [start, end], nice: false } };
  return {
    $schema: SCHEMA,
    title: { text: 'Utilization', subtitle: 'in use (areas: workers running each method, or a pool\'s slots in use) against available (line)' },
    config: CONFIG,
    data: { values: rows },
    facet: { row: { field: 'panel', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top' } } },
    spec: {
      width: WIDTH,
      height: 140,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'busy'" }],
          mark: { type: 'area', interpolate: 'step-after', opacity: 0.8 },
          encoding: {
            x,
            y: { field: 'value', type: 'quantitative', stack: 'zero', title: 'slots' },
            color: { field: 'series', type: 'nominal', title: 'in use' },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'capacity'" }],
          mark: { type: 'line', interpolate: 'step-after', color: '#222', strokeWidth: 1.5 },
          encoding: { x, y: { field: 'value', type: 'quantitative' }, detail: { field: 'series' } },
        },
      ],
    },
    // A legend per panel: methods beside the workers panel, 'slots in use' beside each pool.
    resolve: { scale: { y: 'independent', color: 'independent' } },
  };
}

/** One row per worker, one bar per run of a task, coloured by method; failed runs are faded and outlined. */
export function taskStreamSpec(summary: RunSummary): TopLevelSpec {
  const spans = summary.stream.slice(0, MAX_STREAM_BARS);
  const rows = summary.workers;
  const subtitle =
    summary.stream.length > spans.length
      ? `first ${spans.length} of ${summary.stream.length} runs`
      : `${spans.length} runs on ${rows.length} worker row(s)`;
  return {
    $schema: SCHEMA,
    title: { text: 'Task stream', subtitle },
    config: CONFIG,
    width: WIDTH,
    height: Math.max(60, rows.length * 16),
    data: {
      values: spans.map((s) => ({ row: s.row, method: s.method, start: s.start, end: s.end, outcome: s.success ? 'succeeded' : s.retried ? 'retried' : 'failed' })),
    },
    name: 'stream',
    mark: { type: 'bar', height: { band: 0.8 }, stroke: '#c00' },
    encoding: {
      x: { field: 'start', type: 'quantitative', title: 'time (s)' },
      x2: { field: 'end' },
      y: { field: 'row', type: 'nominal', title: 'worker', sort: rows },
      color: { field: 'method', type: 'nominal', legend: { symbolStrokeWidth: 0 } },
      opacity: { condition: { test: "datum.outcome === 'succeeded'", value: 0.9 }, value: 0.35 },
      strokeWidth: { condition: { test: "datum.outcome !== 'succeeded'", value: 1.5 }, value: 0 },
    },
  };
}

/** Histograms of each latency part, stacked by method; one panel per part, in milliseconds. */
export function latencySpec(summary: RunSummary): TopLevelSpec {
  const rows: { part: string; method: string; from: number; to: number; count: number }[] = [];
  const panels: string[] = [];
  for (const part of LATENCY_PARTS) {
    const values = summary.latencies.map((l) => ({ method: l.method, ms: l.parts[part] * 1000 })).filter((v) => Number.isFinite(v.ms));
    if (values.length === 0) continue;
    const sorted = values.map((v) => v.ms).sort((a, b) => a - b);
    const low = sorted[0]!;
    const max = sorted.at(-1)!;
    // A few huge outliers would squeeze every other bar into one bin: fold them into the last bin.
    const p99 = quantile(sorted, 0.99);
    const high = max > low && max - low > 5 * (p99 - low) && p99 > low ? p99 : max;
    const width = high > low ? (high - low) / HISTOGRAM_BINS : 1;
    const label = `${LATENCY_PARTS_HELP[part].label} (ms)${high < max ? `, last bin ≥ ${formatMs(high)}` : ''}`;
    panels.push(label);
    const counts = new Map<string, number>();
    for (const { method, ms } of values) {
      const bin = Math.min(HISTOGRAM_BINS - 1, Math.floor((Math.min(ms, high) - low) / width));
      const key = `${method}\u0000${bin}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const [key, count] of counts) {
      const [method, bin] = key.split('\u0000') as [string, string];
      const from = low + Number(bin) * width;
      rows.push({ part: label, method, from, to: from + width, count });
    }
  }
  return {
    $schema: SCHEMA,
    title: { text: 'Latency breakdown', subtitle: 'where each task spent its time, per part of its path' },
    config: CONFIG,
    data: { values: rows },
    facet: { field: 'part', type: 'nominal', title: null, sort: panels, header: { labelFontSize: 12 } },
    columns: 3,
    spec: {
      width: 220,
      height: 130,
      mark: { type: 'bar', binSpacing: 0 },
      encoding: {
        // Binned here, not by Vega-Lite: 'binned' keeps the bars vertical and stackable.
        x: { field: 'from', type: 'quantitative', bin: 'binned', title: null, scale: { zero: false } },
        x2: { field: 'to' },
        y: { field: 'count', type: 'quantitative', stack: 'zero', title: 'tasks' },
        color: { field: 'method', type: 'nominal' },
      },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  };
}

/** Recorded values against time, one panel per name. */
export function valuesSpec(summary: RunSummary, names: readonly string[]): TopLevelSpec {
  const rows = names.flatMap((name) => (summary.values[name] ?? []).filter((p) => Number.isFinite(p.value)).map((p) => ({ name, t: p.t, value: p.value })));
  return {
    $schema: SCHEMA,
    title: { text: names.length === 1 ? names[0]! : 'Recorded values', subtitle: 'as recorded by the campaign (runLog.recordValue)' },
    config: CONFIG,
    data: { values: rows },
    facet: { row: { field: 'name', type: 'nominal', title: null, header: names.length === 1 ? null : { labelAngle: 0, labelAlign: 'left', labelOrient: 'top' } } },
    spec: {
      width: WIDTH,
      height: 200,
      layer: [
        { mark: { type: 'line', interpolate: 'step-after' } },
        { mark: { type: 'point', filled: true, size: 18 } },
      ],
      encoding: {
        x: { field: 't', type: 'quantitative', title: 'time (s)' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

function formatMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(2) : ms.toPrecision(2);
}
