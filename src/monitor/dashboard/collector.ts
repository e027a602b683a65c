/**
 * Watches a campaign's queues, task servers, thinker and resource counter (the same event sources
 * as the run log) and turns what happened into {@link DashboardRecord}s in batches.
 *
 * The listeners run on the task path, so they only push the object the event carries onto an
 * array; everything else (building records, ordering, sampling server load) happens in
 * {@link EventCollector.drain}, which the dashboard or the publisher calls on a timer.
 */
import { InvalidArgumentError } from '../../common/errors.js';
import { nowSeconds } from '../../models/clock.js';
import type { Result } from '../../models/result.js';
import type { ObservedQueues, ObservedTaskServer, ObservedThinker, SlotChange, SlotCounter } from '../run-log/observed.js';
import { resultLine, resultRecord, RUN_LOG_VERSION, type PoolSlots, type RunLogRecord, type SlotsRecord } from '../run-log/records.js';
import { type DashboardRecord, MAX_STACK_CHARS } from './records.js';

/** A task server as the dashboard sees it: its events, and (when it has one) its count of tasks in hand. */
export interface DashboardTaskServer extends ObservedTaskServer {
  readonly inFlight?: number;
  /** 'running' when attached after start(): its start is then taken as the moment of attaching. */
  readonly state?: string;
  readonly methodNames?: readonly string[];
}

export interface CollectTaskServerOptions {
  /** Label of the server. @default 'task-server', numbered from the second one on */
  name?: string;
  /** Workers the server runs tasks on: the capacity of the `workers` utilization panel. */
  workers?: number;
  /**
   * Also take the results the server sends. Leave off when the queues are attached in the same
   * process (they carry each result with its full timing, once). @default false
   */
  results?: boolean;
}

interface WatchedServer {
  name: string;
  server: DashboardTaskServer;
  lastInFlight: number;
}

interface WatchedCounter {
  counter: SlotCounter;
  /** Pool state as of the last change turned into a record. */
  pools: PoolSlots[];
  changes: SlotChange[];
}

/**
 * Past this many tasks and results held, the collector asks for an early {@link EventCollector.drain}
 * (on the next turn of the loop): held Results would otherwise outlive the young generation and
 * cost the garbage collector more than the dashboard's own work.
 */
const BACKLOG = 256;

/** Collects a campaign's events; see the module comment. */
export class EventCollector {
  /** Called (once until the next drain) when enough is held that it should be drained soon. */
  onBacklog: (() => void) | null = null;
  #backlogSignalled = false;
  #sent: Result[] = [];
  #results: Result[] = [];
  #other: RunLogRecord[] = [];
  readonly #servers: WatchedServer[] = [];
  readonly #counters: WatchedCounter[] = [];
  readonly #serverNames = new Set<string>();
  readonly #detach: (() => void)[] = [];

  /** A `start` record describing this process, for the first batch. */
  startRecord(meta: Record<string, unknown>, hostname: string): RunLogRecord {
    return { type: 'start', t: nowSeconds(), version: RUN_LOG_VERSION, hostname, pid: process.pid, meta };
  }

  /** Take every task sent and every result taken through these queues. */
  attachQueues(queues: ObservedQueues): void {
    this.#detach.push(
      queues.events.on('sent', (task: Result) => {
        if (this.#sent.push(task) + this.#results.length >= BACKLOG) this.#signalBacklog();
      }),
      queues.events.on('result', (result: Result) => {
        if (result.complete !== false && this.#results.push(result) + this.#sent.length >= BACKLOG) this.#signalBacklog();
      }),
    );
  }

  /** Take a task server's start and stop, its load, and (with `results`) the results it sends. */
  attachTaskServer(server: DashboardTaskServer, options: CollectTaskServerOptions = {}): void {
    const workers = options.workers ?? null;
    if (workers !== null && (!Number.isSafeInteger(workers) || workers < 1)) {
      throw new InvalidArgumentError(`attachTaskServer: workers must be a positive integer, got ${String(options.workers)}`);
    }
    const name = this.#uniqueServerName(options.name ?? 'task-server');
    const watched: WatchedServer = { name, server, lastInFlight: 0 };
    this.#servers.push(watched);
    this.#detach.push(
      server.events.on('started', ({ methods }) =>
        this.#other.push({ type: 'server', t: nowSeconds(), event: 'started', server: name, methods: [...methods], workers }),
      ),
      server.events.on('stopped', ({ reason }) => this.#other.push({ type: 'server', t: nowSeconds(), event: 'stopped', server: name, reason })),
      () => this.#servers.splice(this.#servers.indexOf(watched), 1),
    );
    // Every doc starts the server, then attaches it: its 'started' has been emitted already.
    if (server.state === 'running') {
      this.#other.push({ type: 'server', t: nowSeconds(), event: 'started', server: name, methods: [...(server.methodNames ?? [])], workers });
    }
    if (options.results) {
      this.#detach.push(
        server.events.on('result', (result: Result) => {
          if (this.#results.push(result) + this.#sent.length >= BACKLOG) this.#signalBacklog();
        }),
      );
    }
  }

  /** Take a thinker's queues, resource counter, and agent and event activity. */
  attachThinker(thinker: ObservedThinker): void {
    this.attachQueues(thinker.queues);
    if (thinker.resourceCounter !== null) this.attachResourceCounter(thinker.resourceCounter);
    const events = thinker.events;
    if (!events) return;
    this.#detach.push(
      events.on('agentStarted', ({ agent }) => this.#other.push({ type: 'agent', t: nowSeconds(), event: 'started', agent })),
      events.on('agentStopped', ({ agent, failed }) => this.#other.push({ type: 'agent', t: nowSeconds(), event: 'stopped', agent, failed })),
      events.on('eventSet', ({ event }) => this.#other.push({ type: 'event', t: nowSeconds(), name: event })),
    );
  }

  /** Take every change to a resource counter's pools. */
  attachResourceCounter(counter: SlotCounter): void {
    const pools = counter.snapshot().map((p) => ({ pool: p.pool, allocated: p.allocated, busy: p.allocated - p.available }));
    const watched: WatchedCounter = { counter, pools, changes: [] };
    this.#counters.push(watched);
    this.#other.push({ type: 'slots', t: nowSeconds(), change: { kind: 'attach', slots: 0 }, pools: pools.map((p) => ({ ...p })) });
    const listener = (change: SlotChange): void => void watched.changes.push(change);
    const unsubscribe = counter.events.on('change', listener);
    this.#detach.push(() => {
      unsubscribe();
      this.#counters.splice(this.#counters.indexOf(watched), 1);
    });
  }

  /** A value the campaign tracks. */
  recordValue(name: string, value: number): void {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError(`recordValue needs a non-empty name, got ${String(name)}`);
    if (typeof value !== 'number') throw new InvalidArgumentError(`recordValue('${name}', value): value must be a number, got ${typeof value}`);
    this.#other.push({ type: 'value', t: nowSeconds(), name, value });
  }

  /** Stop listening. Events already collected stay until the next {@link drain}. */
  detach(): void {
    for (const detach of this.#detach.splice(0)) detach();
  }

  /**
   * Everything collected since the last call, as records. Sent tasks and results come merged in
   * time order (a result's `reaction` is measured against the next task sent), the rest after.
   * With `lines`, each record's JSON line is added to it too (results through the run log's fast
   * writer).
   */
  drain(lines?: string[]): DashboardRecord[] {
    this.#backlogSignalled = false;
    const sent = this.#sent;
    const results = this.#results;
    const other = this.#other;
    this.#sent = [];
    this.#results = [];
    this.#other = [];
    const out: DashboardRecord[] = [];
    const resultLines: string[] = [];
    for (const record of other) if (record.type !== 'slots' && record.type !== 'server') out.push(record);
    // Server starts before the tasks and slot changes, so the panels know their capacity first.
    for (const record of other) if (record.type === 'server' && record.event === 'started') out.push(record);
    for (const record of other) if (record.type === 'slots') out.push(record);
    for (const watched of this.#counters) this.#slotRecords(watched, out);
    let i = 0;
    let j = 0;
    while (i < sent.length || j < results.length) {
      const task = sent[i];
      const result = results[j];
      const sentAt = task?.timestamp.created ?? Infinity;
      const receivedAt = result === undefined ? Infinity : receivedTime(result);
      if (task !== undefined && sentAt <= receivedAt) {
        out.push({ type: 'sent', t: sentAt, taskId: task.taskId, method: task.method, topic: task.topic, created: sentAt });
        i++;
      } else if (result !== undefined) {
        const t = Number.isFinite(receivedAt) ? receivedAt : nowSeconds();
        out.push(resultRecord(result, t));
        if (lines) resultLines.push(resultLine(result, t).slice(0, -1));
        const failure = result.failureInfo;
        if (result.success !== true && failure !== null && failure.stack) {
          out.push({ type: 'stack', t, taskId: result.taskId, stack: failure.stack.slice(0, MAX_STACK_CHARS) });
        }
        j++;
      }
    }
    for (const record of other) if (record.type === 'server' && record.event === 'stopped') out.push(record);
    const now = nowSeconds();
    for (const watched of this.#servers) {
      const inFlight = watched.server.inFlight;
      if (typeof inFlight === 'number' && inFlight !== watched.lastInFlight) {
        watched.lastInFlight = inFlight;
        out.push({ type: 'load', t: now, server: watched.name, inFlight });
      }
    }
    if (lines) {
      // Results already have their line; the rest are few.
      let next = 0;
      for (const record of out) lines.push(record.type === 'result' ? resultLines[next++]! : JSON.stringify(record));
    }
    return out;
  }

  /** One slots record per change, with the pools after it (acquire and release move busy slots; reallocate moves allocated ones). */
  #slotRecords(watched: WatchedCounter, out: DashboardRecord[]): void {
    const changes = watched.changes;
    if (changes.length === 0) return;
    watched.changes = [];
    const pools = watched.pools;
    const find = (name: string | null | undefined): PoolSlots | undefined => pools.find((p) => p.pool === (name ?? null));
    for (const change of changes) {
      if (change.kind === 'acquire' || change.kind === 'release') {
        const pool = find(change.pool);
        if (pool) pool.busy += change.kind === 'acquire' ? change.slots : -change.slots;
      } else if (change.kind === 'reallocate') {
        const from = find(change.from);
        const to = find(change.to);
        if (from) from.allocated -= change.slots;
        if (to) to.allocated += change.slots;
      }
      const record: SlotsRecord = { type: 'slots', t: change.timestamp, change: { kind: change.kind, slots: change.slots }, pools: pools.map((p) => ({ ...p })) };
      if (change.pool !== undefined) record.change.pool = change.pool;
      if (change.from !== undefined) record.change.from = change.from;
      if (change.to !== undefined) record.change.to = change.to;
      out.push(record);
    }
  }

  #signalBacklog(): void {
    if (this.#backlogSignalled || this.onBacklog === null) return;
    this.#backlogSignalled = true;
    this.onBacklog();
  }

  #uniqueServerName(name: string): string {
    let unique = name;
    for (let n = 2; this.#serverNames.has(unique); n++) unique = `${name}-${n}`;
    this.#serverNames.add(unique);
    return unique;
  }
}

/** When the result came back (taken by the thinker, or sent by a server observed on its own); Infinity if unknown, to sort last. */
function receivedTime(result: Result): number {
  const { resultReceived, resultSent } = result.timestamp;
  return Number.isFinite(resultReceived) ? resultReceived : Number.isFinite(resultSent) ? resultSent : Infinity;
}
