/** The report's text summary: counts, latency parts and utilization as aligned tables. */
import { integrate, maxOf } from './series.js';
import { LATENCY_PARTS, LATENCY_PARTS_HELP, type RunSummary } from './stats.js';
import { CAMPAIGN_SPAN, NODE_UTILIZATION, panelMeasure, SLOT_OCCUPANCY, WORKER_UTILIZATION } from './utilization.js';

/** Format rows as columns: the first `textColumns` left-aligned, the others (numbers) right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], textColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i < textColumns ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Milliseconds with three significant digits, from seconds. */
export function formatMs(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const ms = seconds * 1000;
  const magnitude = Math.abs(ms);
  return magnitude >= 100 ? ms.toFixed(0) : magnitude >= 10 ? ms.toFixed(1) : magnitude >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

function percent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)} %` : '-';
}

/** The summary the `report` command prints. */
export function formatSummary(summary: RunSummary): string {
  const out: string[] = [];
  const { window } = summary;
  const rate = Number.isFinite(summary.throughput) ? `, ${summary.throughput.toFixed(1)} tasks/s` : '';
  out.push(`${summary.tasks} tasks (${summary.succeeded} succeeded, ${summary.failed} failed) in ${window.seconds.toFixed(2)} s${rate}`);

  out.push('', formatTable(['method', 'tasks', 'succeeded', 'failed', 'retried'], summary.methods.map((m) => [m.method, `${m.tasks}`, `${m.succeeded}`, `${m.failed}`, `${m.retried}`])));

  const latencyRows: string[][] = [];
  for (const m of summary.methods) {
    LATENCY_PARTS.forEach((part, i) => {
      const d = m.latency[part];
      latencyRows.push([i === 0 ? m.method : '', LATENCY_PARTS_HELP[part].label, `${d.count}`, formatMs(d.median), formatMs(d.p95), formatMs(d.max)]);
    });
  }
  out.push('', formatTable(['latency (ms)', 'part', 'n', 'median', 'p95', 'max'], latencyRows, 2));

  if (summary.utilization.length > 0) {
    // Worker utilization first (the demo's figure), then each pool's slot occupancy; each named.
    const panels = [...summary.utilization].sort((a, b) => (a.source === 'tasks' ? 0 : 1) - (b.source === 'tasks' ? 0 : 1));
    const rows = panels.map((p) => {
      const peak = Math.max(0, maxOf(p.capacity.map((c) => c.value)));
      if (p.source === 'resource-counter') return [panelMeasure(p), `slots: up to ${peak}`, percent(p.utilization), ''];
      const byMethod = p.busy.map((b) => `${b.series} ${percent(p.capacitySeconds > 0 ? integrate(b.points, summary.window.start, summary.window.end) / p.capacitySeconds : NaN)}`);
      return [panelMeasure(p), `${p.capacityLabel}: up to ${peak}`, percent(p.utilization), byMethod.join(', ')];
    });
    out.push('', formatTable(['utilization', 'capacity', 'value', 'by method'], rows, 2));
    out.push(`  ${WORKER_UTILIZATION.name}: ${WORKER_UTILIZATION.definition}`);
    out.push(`  ${SLOT_OCCUPANCY.name}: ${SLOT_OCCUPANCY.definition}`);
    if (panels.some((p) => p.source === 'placements')) out.push(`  ${NODE_UTILIZATION.name}: ${NODE_UTILIZATION.definition}`);
    out.push(`  campaign span (${CAMPAIGN_SPAN}): ${summary.window.seconds.toFixed(2)} s`);
  }
  const valueNames = Object.keys(summary.values);
  if (valueNames.length > 0) {
    const rows = valueNames.map((name) => {
      const points = summary.values[name]!;
      const last = points.at(-1)?.value;
      return [name, `${points.length}`, last === undefined ? '-' : `${Number(last.toPrecision(6))}`];
    });
    out.push('', formatTable(['value', 'records', 'last'], rows));
  }
  return out.join('\n');
}
