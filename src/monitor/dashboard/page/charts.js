// Charts drawn as inline SVG from the view the server sends. Each returns an <svg> element.
import { formatClock, formatDuration } from './format.js';

const NS = 'http://www.w3.org/2000/svg';
/** Colours of methods (Tableau 10), by the method's index. */
export const METHOD_COLORS = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#72b7b2', '#eeca3b', '#ff9da6', '#9d755d', '#bab0ac', '#e45756'];
/** Colours of the latency parts, in the order of the path. */
export const PART_COLORS = ['#9ecae9', '#4c78a8', '#54a24b', '#f58518', '#eeca3b', '#b279a2'];
const STATE_COLORS = { queued: '#b8c2cf', running: '#4c78a8', done: '#54a24b', failed: '#e45756' };

/** @param {string} tag @param {Record<string, string | number>} [attrs] @param {(SVGElement | string)[]} [children] */
export function s(tag, attrs = {}, children = []) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child);
  return node;
}

function root(width, height, label) {
  return s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label, 'data-drawn': 'true' });
}

/** About `count` round tick values in [low, high]. */
function ticks(low, high, count) {
  if (!(high > low)) return [low];
  const raw = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((m) => m >= raw) ?? raw;
  const out = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Time ticks: seconds for a short campaign, m:ss or h:mm:ss after two minutes. */
function timeAxis(g, x, low, high, y0, height) {
  for (const t of ticks(low, high, 6)) {
    g.append(s('line', { class: 'grid', x1: x(t), x2: x(t), y1: y0, y2: y0 + height }));
    g.append(s('text', { x: x(t), y: y0 + height + 13, 'text-anchor': 'middle' }, [high < 120 ? `${Number(t.toPrecision(4))} s` : formatClock(t)]));
  }
}

/** A path of a step function over bins: point i holds from i×bin to (i+1)×bin. */
function stepPath(values, bin, x, y, until) {
  let d = '';
  values.forEach((v, i) => {
    const x0 = x(i * bin);
    const x1 = x(Math.min((i + 1) * bin, until));
    d += `${i === 0 ? 'M' : 'L'}${x0.toFixed(1)},${y(v).toFixed(1)}H${x1.toFixed(1)}`;
  });
  return d;
}

/**
 * Slots busy (area) against slots available (line) for one pool.
 * @param {{ name: string, source: string, capacityLabel: string, binSeconds: number, capacity: number[], busy: number[], utilization: number }} panel
 * @param {number} now @param {number} width
 */
export function utilizationChart(panel, now, width) {
  const height = 130;
  const m = { left: 40, right: 12, top: 22, bottom: 20 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const top = Math.max(1, ...panel.capacity, ...panel.busy) * 1.1;
  const end = Math.max(now, panel.binSeconds);
  const x = (t) => m.left + (t / end) * w;
  const y = (v) => m.top + h - (v / top) * h;
  const svg = root(width, height, `utilization of ${panel.name}`);
  // Named as colmena report names them: worker utilization, or a pool's slot occupancy.
  const measure = panel.source === 'tasks' ? 'worker utilization' : `slot occupancy, pool ${panel.name}`;
  const pct = Number.isFinite(panel.utilization) ? `: ${(panel.utilization * 100).toFixed(1)} %` : '';
  svg.append(s('text', { class: 'title', x: m.left, y: 14 }, [`${measure}${pct}`]));
  const g = s('g');
  timeAxis(g, x, 0, end, m.top, h);
  for (const v of ticks(0, top / 1.1, 3)) {
    g.append(s('line', { class: 'grid', x1: m.left, x2: m.left + w, y1: y(v), y2: y(v) }));
    g.append(s('text', { x: m.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, [String(v)]));
  }
  svg.append(g);
  if (panel.busy.length > 0) {
    const line = stepPath(panel.busy, panel.binSeconds, x, y, end);
    svg.append(s('path', { class: 'busy', d: `${line}V${y(0).toFixed(1)}H${x(0).toFixed(1)}Z` }));
  }
  if (panel.capacity.length > 0) svg.append(s('path', { class: 'capacity', d: stepPath(panel.capacity, panel.binSeconds, x, y, end) }));
  svg.append(s('line', { class: 'axis', x1: m.left, x2: m.left + w, y1: y(0), y2: y(0) }));
  const legendX = m.left + w - 190;
  svg.append(s('rect', { x: legendX, y: 5, width: 10, height: 10, class: 'busy' }));
  svg.append(s('text', { x: legendX + 14, y: 14 }, ['busy']));
  svg.append(s('line', { x1: legendX + 60, x2: legendX + 75, y1: 10, y2: 10, class: 'capacity' }));
  svg.append(s('text', { x: legendX + 79, y: 14 }, [panel.capacityLabel]));
  return svg;
}

/**
 * One row per worker, one bar per run of a task over the last `windowSeconds`, coloured by method;
 * failed runs outlined in red. Tasks that overlap on one worker share its row in lanes.
 * @param {string[]} rows @param {string[]} methods
 * @param {[number, number, number, number, number, number][]} spans [seq, row, method, start, end, outcome]
 * @param {number} now @param {number} windowSeconds @param {number} width
 */
export function streamChart(rows, methods, spans, now, windowSeconds, width) {
  const start = Math.max(0, now - windowSeconds);
  const visible = spans.filter((sp) => sp[4] >= start);
  const collator = new Intl.Collator('en', { numeric: true });
  const order = rows.map((_, i) => i).sort((a, b) => collator.compare(rows[a], rows[b]));
  const position = new Map(order.map((row, i) => [row, i]));
  const rowHeight = Math.max(6, Math.min(18, 360 / Math.max(1, rows.length)));
  const m = { left: Math.min(160, 12 + 6.5 * Math.max(6, ...rows.map((r) => r.length))), right: 12, top: 6, bottom: 20 };
  const w = width - m.left - m.right;
  const h = Math.max(rowHeight, rows.length * rowHeight);
  const svg = root(width, h + m.top + m.bottom, 'task stream');
  const end = Math.max(now, start + 1);
  const x = (t) => m.left + ((Math.max(t, start) - start) / (end - start)) * w;
  const g = s('g');
  timeAxis(g, x, start, end, m.top, h);
  if (rowHeight >= 9) {
    order.forEach((row, i) => g.append(s('text', { x: m.left - 6, y: m.top + i * rowHeight + rowHeight * 0.7, 'text-anchor': 'end' }, [rows[row]])));
  }
  svg.append(g);
  // Lanes: runs that overlap on one worker (an inline executor runs many at once) stack within its row.
  const byRow = new Map();
  for (const sp of visible) {
    if (!byRow.has(sp[1])) byRow.set(sp[1], []);
    byRow.get(sp[1]).push(sp);
  }
  const bars = s('g');
  for (const [row, list] of byRow) {
    list.sort((a, b) => a[3] - b[3]);
    const laneEnds = [];
    const lanes = list.map((sp) => {
      let lane = laneEnds.findIndex((e) => e <= sp[3]);
      if (lane < 0) lane = laneEnds.push(sp[4]) - 1;
      else laneEnds[lane] = sp[4];
      return lane;
    });
    const laneCount = Math.min(laneEnds.length, 8);
    const laneHeight = (rowHeight * 0.8) / laneCount;
    const y0 = m.top + (position.get(row) ?? 0) * rowHeight + rowHeight * 0.1;
    list.forEach((sp, i) => {
      const x0 = x(sp[3]);
      const rect = s('rect', {
        class: sp[5] === 0 ? 'span' : 'span failed',
        x: x0.toFixed(1),
        y: (y0 + (lanes[i] % laneCount) * laneHeight).toFixed(1),
        width: Math.max(1, x(sp[4]) - x0).toFixed(1),
        height: Math.max(1, laneHeight - 0.5).toFixed(1),
        fill: METHOD_COLORS[sp[2] % METHOD_COLORS.length],
      });
      rect.append(s('title', {}, [`${methods[sp[2]] ?? '?'} on ${rows[sp[1]] ?? '?'}: ${formatDuration(sp[4] - sp[3])}${sp[5] ? ' (failed)' : ''}`]));
      bars.append(rect);
    });
  }
  svg.append(bars);
  return svg;
}

/**
 * Mean time per part of a task's path, one stacked bar per method.
 * @param {{ parts: { part: string, label: string }[], methods: { method: string, count: number, parts: Record<string, { mean: number }> }[] }} latency
 * @param {number} width
 */
export function latencyChart(latency, width) {
  const barHeight = 22;
  const m = { left: 110, right: 90, top: 4, bottom: 20 };
  const h = Math.max(1, latency.methods.length) * (barHeight + 8);
  const w = width - m.left - m.right;
  const svg = root(width, h + m.top + m.bottom, 'latency breakdown');
  const totals = latency.methods.map((lm) => latency.parts.reduce((sum, p) => sum + (Number.isFinite(lm.parts[p.part]?.mean) ? lm.parts[p.part].mean : 0), 0));
  const max = Math.max(1e-9, ...totals);
  const x = (v) => m.left + (v / max) * w;
  const g = s('g');
  for (const v of ticks(0, max, 5)) {
    g.append(s('line', { class: 'grid', x1: x(v), x2: x(v), y1: m.top, y2: m.top + h }));
    g.append(s('text', { x: x(v), y: m.top + h + 13, 'text-anchor': 'middle' }, [formatDuration(v)]));
  }
  svg.append(g);
  latency.methods.forEach((lm, i) => {
    const y = m.top + i * (barHeight + 8) + 4;
    svg.append(s('text', { class: 'title', x: m.left - 8, y: y + barHeight * 0.68, 'text-anchor': 'end' }, [lm.method]));
    let at = 0;
    latency.parts.forEach((p, j) => {
      const mean = lm.parts[p.part]?.mean;
      if (!Number.isFinite(mean) || mean <= 0) return;
      const rect = s('rect', { class: 'part', x: x(at).toFixed(1), y, width: Math.max(0.5, x(at + mean) - x(at)).toFixed(1), height: barHeight, fill: PART_COLORS[j % PART_COLORS.length] });
      rect.append(s('title', {}, [`${lm.method} — ${p.label}: mean ${formatDuration(mean)}`]));
      svg.append(rect);
      at += mean;
    });
    svg.append(s('text', { x: x(at) + 6, y: y + barHeight * 0.68 }, [`${formatDuration(totals[i])} (${lm.count})`]));
  });
  return svg;
}

/** A stacked bar of a row's tasks by state. @param {{ queued: number, running: number, done: number, failed: number }} row @param {number} width */
export function stateBar(row, width) {
  const height = 12;
  const total = row.queued + row.running + row.done + row.failed;
  const svg = root(width, height, 'tasks by state');
  let at = 0;
  for (const state of ['done', 'failed', 'running', 'queued']) {
    const n = row[state];
    if (n <= 0 || total === 0) continue;
    const w = (n / total) * width;
    svg.append(s('rect', { x: at.toFixed(1), y: 0, width: Math.max(0.5, w).toFixed(1), height, fill: STATE_COLORS[state], class: `state-${state}` }));
    at += w;
  }
  return svg;
}

/** A bar of a pool's slots: busy of allocated. @param {number} busy @param {number} allocated @param {number} max @param {number} width */
export function poolBar(busy, allocated, max, width) {
  const height = 12;
  const svg = root(width, height, 'pool slots');
  const scale = (v) => (max > 0 ? (v / max) * width : 0);
  svg.append(s('rect', { x: 0, y: 0, width: scale(allocated).toFixed(1), height, fill: '#dfe4ea' }));
  svg.append(s('rect', { x: 0, y: 0, width: scale(busy).toFixed(1), height, fill: STATE_COLORS.running }));
  return svg;
}

/** A recorded value against time. @param {string} name @param {[number, number][]} points @param {number} now @param {number} width */
export function valueChart(name, points, now, width) {
  const height = 90;
  const m = { left: 56, right: 12, top: 20, bottom: 20 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const values = points.map((p) => p[1]).filter(Number.isFinite);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const pad = high > low ? (high - low) * 0.1 : Math.abs(high) * 0.1 || 1;
  const end = Math.max(now, 1);
  const x = (t) => m.left + (t / end) * w;
  const y = (v) => m.top + h - ((v - (low - pad)) / (high - low + 2 * pad)) * h;
  const svg = root(width, height, `recorded value ${name}`);
  const last = values.at(-1);
  svg.append(s('text', { class: 'title', x: m.left, y: 13 }, [`${name}: ${last === undefined ? '–' : Number(last.toPrecision(6))}`]));
  const g = s('g');
  timeAxis(g, x, 0, end, m.top, h);
  for (const v of ticks(low - pad, high + pad, 2)) g.append(s('text', { x: m.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, [String(Number(v.toPrecision(4)))]));
  svg.append(g);
  const d = points.filter((p) => Number.isFinite(p[1])).map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
  if (d) svg.append(s('path', { class: 'value-line', d: `${d}H${x(end).toFixed(1)}` }));
  return svg;
}
