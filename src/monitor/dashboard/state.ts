/**
 * The live state of a campaign, built record by record from the same records the run log holds.
 * Every part is bounded (counts, fixed histograms, binned series, the most recent runs and
 * failures) except the set of tasks in flight, so a dashboard can watch a campaign of millions of
 * tasks. Each record costs O(1); a view costs O(what it shows).
 */
import type { ResultRecord, SlotsRecord } from '../run-log/records.js';
import { LATENCY_PARTS, LATENCY_PARTS_HELP, latencyParts, type LatencyPart } from '../report/stats.js';
import { workerKey, workerLabels } from '../report/workers.js';
import { BinClock, Bins, StepBins } from './bins.js';
import type { DashboardCheckpoint } from './checkpoint.js';
import { LogHistogram } from './histogram.js';
import type { DashboardRecord } from './records.js';
import { type DashboardView, type FailureView, type SpanTuple, type TaskRow, type UtilizationView, VIEW_VERSION } from './view.js';

export interface DashboardStateOptions {
  /** Runs of tasks kept for the task stream. @default 4000 */
  maxSpans?: number;
  /** Failures kept, with their stacks. @default 30 */
  maxFailures?: number;
  /** Points per chart before bins merge. @default 240 */
  maxBins?: number;
}

interface Row {
  method: string;
  topic: string;
  sent: number;
  outstanding: number;
  done: number;
  failed: number;
  retried: number;
}

interface MethodLatency {
  count: number;
  parts: Record<LatencyPart, LogHistogram>;
}

interface ServerState {
  methods: string[];
  workers: number | null;
  state: 'running' | 'stopped';
  inFlight: number | null;
  since: number;
}

interface PoolPanel {
  allocated: StepBins;
  busy: StepBins;
  everAllocated: boolean;
}

const MAX_AWAITING_REACTION = 10_000;
const MAX_EVENTS = 40;
const MAX_VALUE_POINTS = 500;

/** A campaign's live state; see the module comment. */
export class DashboardState {
  readonly #maxSpans: number;
  readonly #maxFailures: number;
  readonly #clock: BinClock;
  #seq = 0;
  #origin = NaN;
  #hostname: string | null = null;
  #pid: number | null = null;
  #meta: Record<string, unknown> = {};
  #ended = false;
  /**
   * When the campaign ended (relative seconds): its 'end' record, or else the moment its last task
   * server stopped with nothing outstanding. The clock, rates and utilization stop there.
   */
  #endedAt: number | null = null;
  #serversStoppedAt: number | null = null;
  /** When the first task was sent: the start of the campaign span over which rates are given. */
  #firstSentAt: number | null = null;
  readonly #rows: Row[] = [];
  readonly #rowIndex = new Map<string, number>();
  /** Tasks in flight, in the order they were sent: task id → row index. */
  readonly #outstanding = new Map<string, number>();
  readonly #latency = new Map<string, MethodLatency>();
  /** Results waiting for the next task sent, to measure the thinker's reaction: [method, received]. */
  #awaitingReaction: [string, number][] = [];
  /** Entries of {@link #awaitingReaction} before this one are measured. */
  #awaitingHead = 0;
  readonly #servers = new Map<string, ServerState>();
  readonly #pools = new Map<string | null, PoolPanel>();
  #currentPools: SlotsRecord['pools'] = [];
  readonly #workersCapacity: StepBins;
  readonly #workersBusy: Bins;
  #declaredWorkers = false;
  readonly #workerKeys = new Map<string, number>();
  #workerLabels: string[] = [];
  readonly #methods = new Map<string, number>();
  #spans: SpanTuple[] = [];
  #spanSeq = 0;
  #failures: FailureView[] = [];
  readonly #agents = new Map<string, { state: 'running' | 'stopped' | 'failed'; since: number }>();
  #events: { t: number; label: string }[] = [];
  readonly #values = new Map<string, [number, number][]>();
  #doneSamples: [number, number][] = [];

  constructor(options: DashboardStateOptions = {}) {
    this.#maxSpans = options.maxSpans ?? 4000;
    this.#maxFailures = options.maxFailures ?? 30;
    this.#clock = new BinClock(0.25, options.maxBins ?? 240);
    this.#workersCapacity = new StepBins(this.#clock);
    this.#workersBusy = new Bins(this.#clock);
  }

  /** Increases whenever a record changed something. */
  get seq(): number {
    return this.#seq;
  }

  /** Epoch seconds of time 0 (the first record). */
  get origin(): number {
    return this.#origin;
  }

  /** Final results taken so far (succeeded and failed). */
  get finished(): number {
    let total = 0;
    for (const row of this.#rows) total += row.done + row.failed;
    return total;
  }

  /** Take records in the order they happened. */
  ingest(records: readonly DashboardRecord[]): void {
    if (records.length === 0) return;
    this.#seq++;
    for (const record of records) this.#ingestOne(record);
  }

  #ingestOne(r: DashboardRecord): void {
    if (Number.isNaN(this.#origin)) this.#origin = r.t;
    const t = r.t - this.#origin;
    switch (r.type) {
      case 'start':
        this.#hostname = r.hostname;
        this.#pid = r.pid;
        this.#meta = r.meta;
        this.#ended = false;
        this.#endedAt = null;
        return;
      case 'end':
        this.#ended = true;
        this.#endedAt ??= t;
        return;
      case 'sent': {
        this.#firstSentAt ??= t;
        const index = this.#row(r.method, r.topic);
        this.#rows[index]!.sent++;
        if (!this.#outstanding.has(r.taskId)) {
          this.#outstanding.set(r.taskId, index);
          this.#rows[index]!.outstanding++;
        }
        this.#measureReactions(r.created);
        return;
      }
      case 'result':
        return this.#result(r);
      case 'stack': {
        const failure = this.#failures.find((f) => f.taskId === r.taskId);
        if (failure) failure.stack = r.stack;
        return;
      }
      case 'load': {
        const server = this.#servers.get(r.server);
        if (server) server.inFlight = r.inFlight;
        return;
      }
      case 'server':
        return this.#server(r, t);
      case 'agent': {
        const state = r.event === 'started' ? 'running' : r.failed ? 'failed' : 'stopped';
        this.#agents.set(r.agent, { state, since: t });
        return this.#event(t, r.event === 'started' ? `agent ${r.agent} started` : `agent ${r.agent} ${state}`);
      }
      case 'event':
        return this.#event(t, `event ${r.name} set`);
      case 'slots':
        return this.#slots(r, t);
      case 'value': {
        let points = this.#values.get(r.name);
        if (!points) this.#values.set(r.name, (points = []));
        points.push([t, r.value]);
        // Thin out evenly rather than forget the start.
        if (points.length > MAX_VALUE_POINTS) this.#values.set(r.name, points.filter((_, i) => i % 2 === 0 || i === points.length - 1));
        return;
      }
    }
  }

  #row(method: string, topic: string): number {
    const key = `${method}\u0000${topic}`;
    let index = this.#rowIndex.get(key);
    if (index === undefined) {
      index = this.#rows.push({ method, topic, sent: 0, outstanding: 0, done: 0, failed: 0, retried: 0 }) - 1;
      this.#rowIndex.set(key, index);
    }
    return index;
  }

  #result(r: ResultRecord): void {
    if (r.complete === false) return;
    const index = this.#row(r.method, r.topic);
    const row = this.#rows[index]!;
    if (this.#outstanding.delete(r.taskId)) row.outstanding--;
    if (r.success === true) row.done++;
    else row.failed++;
    if (r.retries > 0) row.retried++;

    let latency = this.#latency.get(r.method);
    if (!latency) {
      const parts = Object.fromEntries(LATENCY_PARTS.map((part) => [part, new LogHistogram()])) as Record<LatencyPart, LogHistogram>;
      this.#latency.set(r.method, (latency = { count: 0, parts }));
    }
    latency.count++;
    const parts = latencyParts(r, []);
    for (const part of LATENCY_PARTS) if (part !== 'reaction') latency.parts[part].add(parts[part]);
    if (Number.isFinite(r.timestamp.resultReceived)) {
      this.#awaitingReaction.push([r.method, r.timestamp.resultReceived]);
      if (this.#awaitingReaction.length - this.#awaitingHead > MAX_AWAITING_REACTION) this.#awaitingHead += MAX_AWAITING_REACTION / 10;
    }

    for (const attempt of r.failedAttempts ?? []) this.#span(r.method, attempt.worker, attempt.computeStarted, attempt.computeEnded, 2);
    this.#span(r.method, r.worker, r.timestamp.computeStarted, r.timestamp.computeEnded, r.success === true ? 0 : 1);

    if (r.success !== true) {
      const failure = r.failure;
      this.#failures.unshift({
        t: r.t - this.#origin,
        taskId: r.taskId,
        method: r.method,
        topic: r.topic,
        name: failure?.name ?? 'Error',
        message: failure?.message ?? '(no failure information)',
        reason: failure?.reason ?? null,
        retries: r.retries,
        worker: r.worker === null ? null : (this.#workerLabels[this.#workerKeys.get(workerKey(r.worker)) ?? -1] ?? null),
        stack: null,
      });
      if (this.#failures.length > this.#maxFailures) this.#failures.length = this.#maxFailures;
    }
  }

  /** A task sent at `created` ends the wait of every result taken before it. */
  #measureReactions(created: number): void {
    const awaiting = this.#awaitingReaction;
    while (this.#awaitingHead < awaiting.length && awaiting[this.#awaitingHead]![1] < created) {
      const [method, received] = awaiting[this.#awaitingHead++]!;
      this.#latency.get(method)?.parts.reaction.add(created - received);
    }
    // Drop the measured ones now and then, not on every task.
    if (this.#awaitingHead > 1024 || (this.#awaitingHead > 0 && this.#awaitingHead === awaiting.length)) {
      this.#awaitingReaction = awaiting.slice(this.#awaitingHead);
      this.#awaitingHead = 0;
    }
  }

  #span(method: string, worker: ResultRecord['worker'], started: number, ended: number, outcome: 0 | 1 | 2): void {
    if (!Number.isFinite(started) || !Number.isFinite(ended)) return;
    const key = workerKey(worker);
    let row = this.#workerKeys.get(key);
    const start = started - this.#origin;
    const end = ended - this.#origin;
    if (row === undefined) {
      row = this.#workerKeys.size;
      this.#workerKeys.set(key, row);
      this.#workerLabels = [...workerLabels(this.#workerKeys.keys()).values()];
      if (!this.#declaredWorkers) this.#workersCapacity.set(start, this.#workerKeys.size);
    }
    let methodIndex = this.#methods.get(method);
    if (methodIndex === undefined) this.#methods.set(method, (methodIndex = this.#methods.size));
    this.#workersBusy.add(start, end, 1);
    this.#spans.push([++this.#spanSeq, row, methodIndex, start, end, outcome]);
    if (this.#spans.length > this.#maxSpans * 1.25) this.#spans = this.#spans.slice(-this.#maxSpans);
  }

  #server(r: Extract<DashboardRecord, { type: 'server' }>, t: number): void {
    if (r.event === 'started') {
      this.#servers.set(r.server, { methods: r.methods, workers: r.workers, state: 'running', inFlight: null, since: t });
      this.#event(t, `${r.server} started (${r.methods.join(', ')})`);
      this.#serversStoppedAt = null;
    } else {
      const server = this.#servers.get(r.server);
      if (server) Object.assign(server, { state: 'stopped', inFlight: 0, since: t });
      this.#event(t, `${r.server} stopped (${r.reason})`);
      const allStopped = [...this.#servers.values()].every((s) => s.state !== 'running');
      if (allStopped && this.#outstanding.size === 0) this.#serversStoppedAt = t;
    }
    let declared = 0;
    for (const server of this.#servers.values()) if (server.state === 'running' && server.workers !== null) declared += server.workers;
    if (declared > 0 || this.#declaredWorkers) {
      this.#declaredWorkers = true;
      this.#workersCapacity.set(t, declared);
    }
  }

  #slots(r: SlotsRecord, t: number): void {
    this.#currentPools = r.pools;
    for (const p of r.pools) {
      let panel = this.#pools.get(p.pool);
      if (!panel) this.#pools.set(p.pool, (panel = { allocated: new StepBins(this.#clock), busy: new StepBins(this.#clock), everAllocated: false }));
      panel.allocated.set(t, p.allocated);
      panel.busy.set(t, p.busy);
      if (p.allocated > 0) panel.everAllocated = true;
    }
  }

  #event(t: number, label: string): void {
    this.#events.unshift({ t, label });
    if (this.#events.length > MAX_EVENTS) this.#events.length = MAX_EVENTS;
  }

  /** Everything, as plain JSON, for a dashboard started later to carry on from. */
  toCheckpoint(): DashboardCheckpoint {
    return {
      version: 1,
      seq: this.#seq,
      origin: this.#origin,
      campaign: {
        hostname: this.#hostname,
        pid: this.#pid,
        meta: this.#meta,
        ended: this.#ended,
        firstSentAt: this.#firstSentAt,
        endedAt: this.#endedAt,
        serversStoppedAt: this.#serversStoppedAt,
      },
      rows: this.#rows,
      outstanding: [...this.#outstanding],
      latency: [...this.#latency].map(([method, l]) => ({
        method,
        count: l.count,
        parts: Object.fromEntries(LATENCY_PARTS.map((part) => [part, l.parts[part].toJSON()])) as DashboardCheckpoint['latency'][number]['parts'],
      })),
      awaitingReaction: this.#awaitingReaction.slice(this.#awaitingHead),
      servers: [...this.#servers],
      pools: [...this.#pools].map(([pool, p]) => ({ pool, allocated: p.allocated.toJSON(), busy: p.busy.toJSON(), everAllocated: p.everAllocated })),
      currentPools: this.#currentPools,
      binSeconds: this.#clock.width,
      workersCapacity: this.#workersCapacity.toJSON(),
      workersBusy: this.#workersBusy.toJSON(),
      declaredWorkers: this.#declaredWorkers,
      workerKeys: [...this.#workerKeys.keys()],
      methods: [...this.#methods.keys()],
      spans: this.#spans,
      spanSeq: this.#spanSeq,
      failures: this.#failures,
      agents: [...this.#agents],
      events: this.#events,
      values: [...this.#values],
    };
  }

  /** A state that carries on from a checkpoint. */
  static fromCheckpoint(c: DashboardCheckpoint, options: DashboardStateOptions = {}): DashboardState {
    const state = new DashboardState(options);
    state.#seq = c.seq;
    state.#origin = c.origin ?? NaN;
    state.#hostname = c.campaign.hostname;
    state.#pid = c.campaign.pid;
    state.#meta = c.campaign.meta;
    state.#ended = c.campaign.ended;
    state.#firstSentAt = c.campaign.firstSentAt ?? null;
    state.#endedAt = c.campaign.endedAt ?? null;
    state.#serversStoppedAt = c.campaign.serversStoppedAt ?? null;
    for (const row of c.rows) {
      state.#rowIndex.set(`${row.method}\u0000${row.topic}`, state.#rows.push({ ...row }) - 1);
    }
    for (const [taskId, row] of c.outstanding) state.#outstanding.set(taskId, row);
    for (const l of c.latency) {
      const parts = Object.fromEntries(LATENCY_PARTS.map((part) => [part, LogHistogram.restore(l.parts[part])])) as Record<LatencyPart, LogHistogram>;
      state.#latency.set(l.method, { count: l.count, parts });
    }
    state.#awaitingReaction = c.awaitingReaction;
    for (const [name, server] of c.servers) state.#servers.set(name, server);
    state.#clock.width = c.binSeconds;
    for (const p of c.pools) {
      const panel: PoolPanel = { allocated: new StepBins(state.#clock), busy: new StepBins(state.#clock), everAllocated: p.everAllocated };
      panel.allocated.restore(p.allocated);
      panel.busy.restore(p.busy);
      state.#pools.set(p.pool, panel);
    }
    state.#currentPools = c.currentPools;
    state.#workersCapacity.restore(c.workersCapacity);
    state.#workersBusy.restore(c.workersBusy);
    state.#declaredWorkers = c.declaredWorkers;
    c.workerKeys.forEach((key, i) => state.#workerKeys.set(key, i));
    state.#workerLabels = [...workerLabels(c.workerKeys).values()];
    c.methods.forEach((method, i) => state.#methods.set(method, i));
    state.#spans = c.spans;
    state.#spanSeq = c.spanSeq;
    state.#failures = c.failures;
    for (const [name, agent] of c.agents) state.#agents.set(name, agent);
    state.#events = c.events;
    for (const [name, points] of c.values) state.#values.set(name, points);
    return state;
  }

  /** Runs of tasks newer than `afterSeq`, oldest first (at most the ones kept). */
  spansAfter(afterSeq: number): SpanTuple[] {
    const spans = this.#spans;
    if (spans.length === 0 || spans.at(-1)![0] <= afterSeq) return [];
    let low = 0;
    let high = spans.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (spans[mid]![0] <= afterSeq) low = mid + 1;
      else high = mid;
    }
    return spans.slice(Math.max(low, spans.length - this.#maxSpans));
  }

  /** The view of everything, with the runs newer than `afterSeq` (all kept runs by default). */
  view(nowEpoch: number, afterSeq = 0): DashboardView {
    const origin = Number.isNaN(this.#origin) ? nowEpoch : this.#origin;
    const endedAt = this.#endedAt ?? this.#serversStoppedAt;
    const now = endedAt ?? Math.max(0, nowEpoch - origin);
    const { rows, running, runningKnown } = this.#taskRows();
    const sum = (key: keyof TaskRow): number => rows.reduce((total, row) => total + (row[key] as number), 0);
    const done = sum('done');
    const failed = sum('failed');
    return {
      version: VIEW_VERSION,
      seq: this.#seq,
      campaign: { origin, hostname: this.#hostname, pid: this.#pid, meta: this.#meta, ended: endedAt !== null },
      now,
      totals: {
        sent: sum('queued') + sum('running') + done + failed,
        queued: sum('queued'),
        running,
        done,
        failed,
        runningKnown,
        // Once ended, the rate over the campaign span (first task sent to the end), which stays put.
        throughput: endedAt === null ? this.#throughput(now, done + failed) : this.#spanRate(endedAt, done + failed),
      },
      tasks: rows,
      utilization: this.#utilization(now),
      stream: { rows: this.#workerLabels, methods: [...this.#methods.keys()], spans: this.spansAfter(afterSeq), lastSeq: this.#spanSeq },
      latency: {
        parts: LATENCY_PARTS.map((part) => ({ part, ...LATENCY_PARTS_HELP[part] })),
        methods: [...this.#latency].map(([method, l]) => ({
          method,
          count: l.count,
          parts: Object.fromEntries(LATENCY_PARTS.map((part) => [part, l.parts[part].summary()])) as DashboardView['latency']['methods'][number]['parts'],
        })),
      },
      failures: this.#failures,
      agents: [...this.#agents].map(([name, a]) => ({ name, ...a })),
      events: this.#events,
      pools: this.#currentPools,
      servers: [...this.#servers].map(([name, s]) => ({ name, ...s })),
      values: [...this.#values].map(([name, points]) => ({ name, points })),
    };
  }

  /**
   * Tasks by state. Running is estimated: the servers' tasks in hand (capped by their workers),
   * given to the oldest tasks in flight, as executors take tasks first come, first served.
   */
  #taskRows(): { rows: TaskRow[]; running: number; runningKnown: boolean } {
    let capacity = 0;
    let runningKnown = false;
    for (const server of this.#servers.values()) {
      if (server.state !== 'running') continue;
      runningKnown = true;
      const inHand = server.inFlight ?? 0;
      capacity += server.workers === null ? inHand : Math.min(inHand, server.workers);
    }
    const runningByRow = new Array<number>(this.#rows.length).fill(0);
    let running = 0;
    if (capacity > 0) {
      for (const index of this.#outstanding.values()) {
        if (running >= capacity) break;
        runningByRow[index]!++;
        running++;
      }
    }
    const rows = this.#rows.map((row, i) => ({
      method: row.method,
      topic: row.topic,
      queued: row.outstanding - runningByRow[i]!,
      running: runningByRow[i]!,
      done: row.done,
      failed: row.failed,
      retried: row.retried,
    }));
    return { rows, running, runningKnown };
  }

  #throughput(now: number, finished: number): number {
    const samples = this.#doneSamples;
    if (samples.length === 0 || now - samples.at(-1)![0] >= 0.5) samples.push([now, finished]);
    while (samples.length > 2 && now - samples[1]![0] >= 10) samples.shift();
    const [t0, n0] = samples[0]!;
    return now - t0 > 0.2 ? (finished - n0) / (now - t0) : NaN;
  }

  #spanRate(endedAt: number, finished: number): number {
    const seconds = endedAt - (this.#firstSentAt ?? 0);
    return seconds > 0 ? finished / seconds : NaN;
  }

  #utilization(now: number): UtilizationView[] {
    const panels: UtilizationView[] = [];
    const panel = (name: string, source: UtilizationView['source'], capacityLabel: UtilizationView['capacityLabel'], capacity: number[], busy: number[]): void => {
      const capacityTotal = capacity.reduce((a, b) => a + b, 0);
      const busyTotal = busy.reduce((a, b) => a + b, 0);
      panels.push({ name, source, capacityLabel, binSeconds: this.#clock.width, capacity, busy, utilization: capacityTotal > 0 ? busyTotal / capacityTotal : NaN });
    };
    for (const [pool, p] of this.#pools) {
      if (p.everAllocated) panel(pool ?? '(unallocated)', 'resource-counter', 'allocated', p.allocated.averages(now), p.busy.averages(now));
    }
    if (this.#workerKeys.size > 0 || this.#declaredWorkers) {
      const capacity = this.#workersCapacity.averages(now);
      const busy = this.#workersBusy.averages(now);
      // Both series share the clock; the busy one may run past `now` for a run ending later.
      panel('workers', 'tasks', this.#declaredWorkers ? 'workers' : 'workers seen', capacity, busy.slice(0, capacity.length));
    }
    return panels;
  }
}
