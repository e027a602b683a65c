/** The dashboard's live state: counts by state, latency, bins, checkpoints, and the collector's slot records. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Result } from '../../src/models/result.js';
import { BinClock, Bins, StepBins } from '../../src/monitor/dashboard/bins.js';
import type { DashboardCheckpoint } from '../../src/monitor/dashboard/checkpoint.js';
import { EventCollector } from '../../src/monitor/dashboard/collector.js';
import { LogHistogram } from '../../src/monitor/dashboard/histogram.js';
import { parseLine } from '../../src/monitor/dashboard/redis-feed.js';
import type { DashboardRecord } from '../../src/monitor/dashboard/records.js';
import { DashboardState } from '../../src/monitor/dashboard/state.js';
import type { ResultRecord } from '../../src/monitor/run-log/records.js';
import { ResourceCounter } from '../../src/thinker/resource-counter.js';

const T0 = 1_700_000_000;

function sent(taskId: string, method: string, t: number, topic = 'default'): DashboardRecord {
  return { type: 'sent', t: T0 + t, taskId, method, topic, created: T0 + t };
}

/** A result whose parts are known: dispatch 1 ms, queue wait 2 ms, running `run` s, result delay 4 ms. */
function result(taskId: string, method: string, created: number, run: number, success = true, topic = 'default'): ResultRecord {
  const c = T0 + created;
  const timestamp = {
    created: c,
    inputReceived: c + 0.001,
    computeStarted: c + 0.003,
    computeEnded: c + 0.003 + run,
    resultSent: c + 0.0035 + run,
    resultReceived: c + 0.007 + run,
    startTaskSubmission: c + 0.002,
    taskReceived: c + 0.0035 + run,
  };
  return {
    type: 'result',
    t: timestamp.resultReceived,
    taskId,
    method,
    topic,
    success,
    complete: true,
    retries: 0,
    worker: { hostname: 'h', pid: 1, workerId: `thread-${taskId.length % 2}` },
    timestamp,
    time: { running: run, serializeInputs: 1e-5, deserializeInputs: 1e-5, serializeResults: 1e-5, deserializeResults: 1e-5, asyncResolveProxies: NaN, additional: {} },
    sizes: {},
    failure: success ? null : { name: 'RangeError', message: 'no', reason: 'error' },
  };
}

describe('dashboard state', () => {
  test('tasks by state: running is the oldest tasks in flight, up to what the servers have in hand and their workers', () => {
    const state = new DashboardState();
    state.ingest([
      { type: 'start', t: T0, version: 1, hostname: 'h', pid: 1, meta: { name: 'x' } },
      { type: 'server', t: T0, event: 'started', server: 's', methods: ['a', 'b'], workers: 2 },
      sent('1', 'a', 0.1),
      sent('2', 'b', 0.2, 'other'),
      sent('3', 'a', 0.3),
      sent('4', 'a', 0.4),
    ]);
    let view = state.view(T0 + 1);
    assert.equal(view.totals.runningKnown, true);
    assert.equal(view.totals.running, 0, 'nothing in hand yet');
    assert.equal(view.totals.queued, 4);
    state.ingest([{ type: 'load', t: T0 + 0.5, server: 's', inFlight: 4 }]);
    view = state.view(T0 + 1);
    assert.deepEqual(
      view.tasks.map((r) => [r.method, r.topic, r.queued, r.running, r.done, r.failed]),
      [
        ['a', 'default', 2, 1, 0, 0],
        ['b', 'other', 0, 1, 0, 0],
      ],
    );
    state.ingest([result('1', 'a', 0.1, 0.5), result('2', 'b', 0.2, 0.5, false, 'other'), { type: 'load', t: T0 + 0.8, server: 's', inFlight: 2 }]);
    view = state.view(T0 + 1);
    assert.deepEqual(view.totals, { ...view.totals, sent: 4, queued: 0, running: 2, done: 1, failed: 1 });
    assert.equal(view.failures[0]?.taskId, '2');
    assert.equal(view.campaign.meta.name, 'x');

    const unobserved = new DashboardState();
    unobserved.ingest([sent('1', 'a', 0)]);
    assert.deepEqual(unobserved.view(T0 + 1).totals, { ...unobserved.view(T0 + 1).totals, queued: 1, running: 0, runningKnown: false });
  });

  test('latency parts per method, and reaction measured against the next task sent', () => {
    const state = new DashboardState();
    const records: DashboardRecord[] = [{ type: 'start', t: T0, version: 1, hostname: 'h', pid: 1, meta: {} }];
    for (let i = 0; i < 100; i++) {
      records.push(sent(`t${i}`, 'sim', i), result(`t${i}`, 'sim', i, 0.05));
    }
    state.ingest(records);
    const sim = state.view(T0 + 200).latency.methods.find((m) => m.method === 'sim')!;
    assert.equal(sim.count, 100);
    const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual / expected - 1) < 0.08, `${what}: ${actual} vs ${expected}`);
    close(sim.parts.dispatch.median, 0.001, 'dispatch');
    close(sim.parts.queueWait.median, 0.002, 'queue wait');
    close(sim.parts.running.median, 0.05, 'running');
    close(sim.parts.resultDelay.median, 0.004, 'result delay');
    close(sim.parts.running.mean, 0.05, 'running mean (exact)');
    // Task i+1 is created 1 s after task i; its result came back 0.057 s after creation.
    assert.equal(sim.parts.reaction.count, 99);
    close(sim.parts.reaction.median, 1 - 0.057, 'reaction');
  });

  test('the histogram reads quantiles within its bin width, over any range', () => {
    const h = new LogHistogram();
    for (let i = 1; i <= 1000; i++) h.add(i * 1e-4);
    assert.ok(Math.abs(h.quantile(0.5) / 0.05 - 1) < 0.08);
    assert.ok(Math.abs(h.quantile(0.95) / 0.095 - 1) < 0.08);
    assert.equal(h.summary().max, 0.1);
    h.add(NaN);
    h.add(-1);
    assert.equal(h.count, 1001, 'NaN is ignored, negatives count in the first bin');
    assert.deepEqual(LogHistogram.restore(h.toJSON()).summary(), h.summary());
  });

  test('bins widen as the campaign grows and keep every slot-second', () => {
    const clock = new BinClock(0.25, 16);
    const step = new StepBins(clock);
    const intervals = new Bins(clock);
    let expected = 0;
    for (let t = 0; t < 100; t += 1.5) {
      step.set(t, t % 3 === 0 ? 2 : 5);
      intervals.add(t, t + 0.7, 1);
      expected += 0.7;
    }
    const now = 100;
    const averages = intervals.averages(now);
    assert.ok(averages.length <= 16 + 1, `${averages.length} bins`);
    assert.equal(clock.width, 8);
    const area = averages.reduce((sum, v, i) => sum + v * (i === averages.length - 1 ? now - i * clock.width : clock.width), 0);
    assert.ok(Math.abs(area - expected) < 1e-9, `${area} vs ${expected}`);
    const stepAverages = step.averages(now);
    assert.equal(stepAverages.length, averages.length);
    assert.ok(stepAverages.every((v) => v >= 2 - 1e-9 && v <= 5 + 1e-9));
  });

  test('a checkpoint restores the same view, and both carry on alike', () => {
    const state = new DashboardState();
    const first: DashboardRecord[] = [
      { type: 'start', t: T0, version: 1, hostname: 'h', pid: 1, meta: { a: 1 } },
      { type: 'server', t: T0, event: 'started', server: 's', methods: ['sim'], workers: 2 },
      { type: 'slots', t: T0 + 0.1, change: { kind: 'attach', slots: 0 }, pools: [{ pool: null, allocated: 2, busy: 0 }, { pool: 'sim', allocated: 0, busy: 0 }] },
      { type: 'slots', t: T0 + 0.2, change: { kind: 'reallocate', from: null, to: 'sim', slots: 2 }, pools: [{ pool: null, allocated: 0, busy: 0 }, { pool: 'sim', allocated: 2, busy: 1 }] },
      { type: 'agent', t: T0 + 0.2, event: 'started', agent: 'submit' },
      { type: 'value', t: T0 + 0.3, name: 'best', value: 3 },
    ];
    for (let i = 0; i < 10; i++) first.push(sent(`t${i}`, 'sim', 0.3 + i * 0.1));
    for (let i = 0; i < 6; i++) first.push(result(`t${i}`, 'sim', 0.3 + i * 0.1, 0.2, i !== 3));
    first.push({ type: 'stack', t: T0 + 1, taskId: 't3', stack: 'RangeError: no\n    at here' }, { type: 'load', t: T0 + 1, server: 's', inFlight: 4 });
    state.ingest(first);
    const restored = DashboardState.fromCheckpoint(JSON.parse(JSON.stringify(state.toCheckpoint())) as DashboardCheckpoint);
    assert.deepEqual(JSON.parse(JSON.stringify(restored.view(T0 + 2))), JSON.parse(JSON.stringify(state.view(T0 + 2))));
    const more: DashboardRecord[] = [];
    for (let i = 6; i < 10; i++) more.push(result(`t${i}`, 'sim', 0.3 + i * 0.1, 0.2));
    more.push({ type: 'end', t: T0 + 3 });
    state.ingest(more);
    restored.ingest(more);
    const a = state.view(T0 + 4);
    assert.deepEqual(JSON.parse(JSON.stringify(restored.view(T0 + 4))), JSON.parse(JSON.stringify(a)));
    assert.deepEqual(a.totals, { ...a.totals, done: 9, failed: 1, queued: 0, running: 0 });
    assert.equal(a.failures[0]?.stack, 'RangeError: no\n    at here');
    assert.equal(a.campaign.ended, true);
  });

  test("the collector's slot records match the counter's own snapshot after every change", async () => {
    const counter = new ResourceCounter(4, ['sim', 'ml']);
    const collector = new EventCollector();
    collector.attachResourceCounter(counter);
    const truth: { pool: string | null; allocated: number; busy: number }[][] = [];
    counter.events.on('change', () => truth.push(counter.snapshot().map((p) => ({ pool: p.pool, allocated: p.allocated, busy: p.allocated - p.available }))));
    await counter.reallocate(null, 'sim', 3);
    await counter.acquire('sim', 2);
    await counter.reallocate(null, 'ml', 1);
    await counter.acquire('ml', 1);
    const waiting = counter.reallocate('sim', 'ml', 2);
    counter.release('sim', 2);
    await waiting;
    counter.release('ml', 1);
    const slots = collector.drain().filter((r) => r.type === 'slots');
    assert.equal(slots[0]!.change.kind, 'attach');
    assert.deepEqual(slots.slice(1).map((r) => r.pools), truth);
    collector.detach();
    await counter.acquire('ml', 1);
    assert.deepEqual(collector.drain(), [], 'nothing after detach');
  });

  test('the collector orders sent tasks and results by time', () => {
    const collector = new EventCollector();
    const listeners: Record<string, (payload: never) => void> = {};
    collector.attachQueues({ events: { on: (event, listener) => ((listeners[event] = listener as (payload: never) => void), () => {}) } });
    const a = Result.create({ method: 'm' });
    const b = Result.create({ method: 'm' });
    b.timestamp.created = a.timestamp.created + 0.3;
    listeners.sent!(a as never);
    listeners.sent!(b as never);
    a.complete = true;
    a.success = true;
    a.timestamp.resultReceived = a.timestamp.created + 0.2;
    listeners.result!(a as never);
    const order = collector.drain().map((r) => `${r.type}:${'taskId' in r ? (r.taskId === a.taskId ? 'a' : 'b') : ''}`);
    assert.deepEqual(order, ['sent:a', 'result:a', 'sent:b'], 'sent a, its result, then sent b');

    // The lines written for Redis say the same as the records (results through the fast writer).
    b.complete = true;
    b.success = false;
    b.failureInfo = { name: 'RangeError', message: 'no', stack: 'RangeError: no\n    at x', reason: 'error' };
    b.timestamp.resultReceived = b.timestamp.created + 0.1;
    listeners.result!(b as never);
    const lines: string[] = [];
    const records = collector.drain(lines);
    assert.deepEqual(records.map((r) => r.type), ['result', 'stack']);
    assert.deepEqual(lines.map((line) => parseLine(line)), records.map((r) => parseLine(JSON.stringify(r))));
  });
});
