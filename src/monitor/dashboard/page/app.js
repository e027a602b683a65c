// The dashboard page: listens to the server's event stream and redraws at most once a frame.
import { latencyChart, METHOD_COLORS, PART_COLORS, poolBar, stateBar, streamChart, utilizationChart, valueChart } from './charts.js';
import { el, fillRows, formatClock, formatDuration, formatInt, formatRate, swatch } from './format.js';

/** Runs of tasks kept by the page, and how far back the task stream looks. */
const MAX_SPANS = 6000;
const STREAM_WINDOW_SECONDS = 120;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @type {any} */
let view = null;
/** @type {[number, number, number, number, number, number][]} */
let spans = [];
let receivedAt = 0;
let drawPending = false;
let updates = 0;

function connect() {
  const source = new EventSource('api/events');
  source.addEventListener('view', (event) => {
    const message = JSON.parse(/** @type {MessageEvent} */ (event).data);
    view = message.view;
    receivedAt = performance.now();
    if (message.spans.length > 0) {
      spans.push(...message.spans);
      if (spans.length > MAX_SPANS) spans = spans.slice(-MAX_SPANS);
    }
    updates++;
    document.body.dataset.updates = String(updates);
    setStatus(view.campaign.ended ? 'ended' : 'live');
    if (!drawPending) {
      drawPending = true;
      requestAnimationFrame(() => {
        drawPending = false;
        draw();
      });
    }
  });
  source.addEventListener('error', () => {
    if (view?.campaign.ended) {
      // The campaign is over and the dashboard closed: keep the last view, stop retrying.
      source.close();
      setStatus('ended');
    } else {
      setStatus('lost');
    }
  });
}

/** @param {'live' | 'ended' | 'lost'} state */
function setStatus(state) {
  const status = $('status');
  status.className = `status ${state}`;
  status.textContent = state === 'live' ? 'live' : state === 'ended' ? 'campaign ended' : 'connection lost, retrying…';
}

function widthOf(id) {
  return Math.max(320, Math.floor($(id).clientWidth || 800));
}

function draw() {
  if (!view) return;
  const v = view;
  const meta = Object.entries(v.campaign.meta ?? {}).map(([k, value]) => `${k}: ${typeof value === 'object' ? JSON.stringify(value) : value}`);
  $('campaign').textContent = [v.campaign.hostname && `${v.campaign.hostname}${v.campaign.pid ? ` (pid ${v.campaign.pid})` : ''}`, ...meta].filter(Boolean).join(' · ');
  $('elapsed').textContent = `${formatClock(v.now)} elapsed`;
  drawTotals(v);
  drawTasks(v);
  drawUtilization(v);
  drawStream(v);
  drawLatency(v);
  drawAgentsAndServers(v);
  drawPools(v);
  drawValues(v);
  drawFailures(v);
  drawEvents(v);
  document.body.dataset.drawn = String(updates);
}

function drawTotals(v) {
  const t = v.totals;
  $('sent-count').textContent = formatInt(t.sent);
  $('queued-label').textContent = t.runningKnown ? 'queued' : 'in flight';
  $('queued-count').textContent = formatInt(t.queued);
  $('running-count').textContent = t.runningKnown ? formatInt(t.running) : '–';
  $('done-count').textContent = formatInt(t.done);
  $('failed-count').textContent = formatInt(t.failed);
  $('throughput').textContent = formatRate(t.throughput);
}

function drawTasks(v) {
  $('tasks-hint').textContent = v.totals.runningKnown
    ? 'running is estimated from what the task servers have in hand'
    : 'no task server observed: queued counts every task in flight';
  const rows = v.tasks.map((row) =>
    el('tr', {}, [
      el('td', {}, [row.method]),
      el('td', {}, [row.topic]),
      el('td', { class: 'num' }, [formatInt(row.queued)]),
      el('td', { class: 'num' }, [v.totals.runningKnown ? formatInt(row.running) : '–']),
      el('td', { class: 'num' }, [formatInt(row.done)]),
      el('td', { class: 'num' }, [formatInt(row.failed)]),
      el('td', { class: 'num' }, [formatInt(row.retried)]),
      el('td', { class: 'bar-cell' }, [stateBar(row, 260)]),
    ]),
  );
  fillRows(/** @type {HTMLElement} */ ($('tasks').querySelector('tbody')), rows, 8, 'no task sent yet');
}

function drawUtilization(v) {
  const width = widthOf('utilization');
  const charts = v.utilization.map((panel) => utilizationChart(panel, v.now, width));
  $('utilization').replaceChildren(...(charts.length > 0 ? charts : [el('p', { class: 'empty' }, ['no pool or worker seen yet'])]));
}

function drawStream(v) {
  const window = Math.min(STREAM_WINDOW_SECONDS, Math.max(v.now, 1));
  $('stream-hint').textContent = `each run of a task on its worker, last ${formatClock(window)}; failed runs outlined in red`;
  const legend = el(
    'div',
    { class: 'legend' },
    v.stream.methods.map((name, i) => el('span', {}, [swatch(METHOD_COLORS[i % METHOD_COLORS.length]), name])),
  );
  const chart = v.stream.rows.length > 0 ? streamChart(v.stream.rows, v.stream.methods, spans, v.now, window, widthOf('stream')) : el('p', { class: 'empty' }, ['no task finished yet']);
  $('stream').replaceChildren(legend, chart);
}

function drawLatency(v) {
  const parts = v.latency.parts;
  const legend = el('div', { class: 'legend' }, parts.map((p, i) => el('span', { title: p.definition }, [swatch(PART_COLORS[i % PART_COLORS.length]), p.label])));
  const chart = v.latency.methods.length > 0 ? latencyChart(v.latency, widthOf('latency')) : el('p', { class: 'empty' }, ['no result yet']);
  $('latency').replaceChildren(legend, chart);
  const table = $('latency-table');
  table.querySelector('thead')?.replaceChildren(
    el('tr', {}, [el('th', {}, ['median / p95']), ...parts.map((p) => el('th', { class: 'num', title: p.definition }, [p.label]))]),
  );
  const rows = v.latency.methods.map((m) =>
    el('tr', {}, [
      el('td', {}, [m.method]),
      ...parts.map((p) => {
        const d = m.parts[p.part];
        return el('td', { class: 'num' }, [d.count > 0 ? `${formatDuration(d.median)} / ${formatDuration(d.p95)}` : '–']);
      }),
    ]),
  );
  fillRows(/** @type {HTMLElement} */ (table.querySelector('tbody')), rows, parts.length + 1, 'no result yet');
}

function drawAgentsAndServers(v) {
  const agents = v.agents.map((a) =>
    el('tr', {}, [el('td', {}, [el('span', { class: `dot ${a.state}` }), a.name]), el('td', {}, [a.state]), el('td', { class: 'num' }, [formatClock(a.since)])]),
  );
  fillRows(/** @type {HTMLElement} */ ($('agents').querySelector('tbody')), agents, 3, 'no thinker observed');
  const servers = v.servers.map((sv) =>
    el('tr', {}, [
      el('td', {}, [el('span', { class: `dot ${sv.state}` }), sv.name]),
      el('td', {}, [sv.state]),
      el('td', { class: 'num' }, [sv.workers === null ? '–' : formatInt(sv.workers)]),
      el('td', { class: 'num' }, [sv.inFlight === null ? '–' : formatInt(sv.inFlight)]),
      el('td', {}, [sv.methods.join(', ')]),
    ]),
  );
  fillRows(/** @type {HTMLElement} */ ($('servers').querySelector('tbody')), servers, 5, 'no task server observed');
}

function drawPools(v) {
  const max = Math.max(0, ...v.pools.map((p) => p.allocated));
  const rows = v.pools.map((p) =>
    el('tr', {}, [
      el('td', {}, [p.pool === null ? '(unallocated)' : p.pool]),
      el('td', { class: 'num' }, [formatInt(p.allocated)]),
      el('td', { class: 'num' }, [formatInt(p.busy)]),
      el('td', { class: 'bar-cell' }, [poolBar(p.busy, p.allocated, max, 200)]),
    ]),
  );
  fillRows(/** @type {HTMLElement} */ ($('pools').querySelector('tbody')), rows, 4, 'no resource counter observed');
}

function drawValues(v) {
  const width = widthOf('values');
  const charts = v.values.map((series) => valueChart(series.name, series.points, v.now, width));
  $('values').replaceChildren(...(charts.length > 0 ? charts : [el('p', { class: 'empty' }, ['none recorded (dashboard.recordValue)'])]));
}

function drawFailures(v) {
  const items = v.failures.map((f) =>
    el('li', {}, [
      el('div', { class: 'failure-head' }, [
        el('span', { class: 'name' }, [f.name]),
        el('span', {}, [`${f.method} · ${f.topic}`]),
        el('span', { class: 'muted' }, [`at ${formatClock(f.t)}${f.worker ? ` on ${f.worker}` : ''}${f.retries > 0 ? `, after ${f.retries} retr${f.retries === 1 ? 'y' : 'ies'}` : ''}${f.reason && f.reason !== 'error' ? ` (${f.reason})` : ''}`]),
      ]),
      el('div', { class: 'failure-message' }, [f.message]),
      f.stack ? el('details', {}, [el('summary', {}, [`stack of task ${f.taskId}`]), el('pre', {}, [f.stack])]) : null,
    ]),
  );
  $('failures').replaceChildren(...(items.length > 0 ? items : [el('li', { class: 'empty' }, ['no failure'])]));
}

function drawEvents(v) {
  const items = v.events.map((e) => el('li', {}, [el('span', { class: 'muted' }, [`${formatClock(e.t)}  `]), e.label]));
  $('events').replaceChildren(...(items.length > 0 ? items : [el('li', { class: 'empty' }, ['nothing yet'])]));
}

// Keep the clock moving between updates (a quiet campaign sends few).
setInterval(() => {
  if (view && !view.campaign.ended && performance.now() - receivedAt > 1000) {
    $('elapsed').textContent = `${formatClock(view.now + (performance.now() - receivedAt) / 1000)} elapsed`;
  }
}, 1000);

connect();
