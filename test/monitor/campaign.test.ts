/**
 * A real campaign (LocalQueues, LocalTaskServer on worker threads) writes a run log; the report
 * is checked against numbers the test computes itself from the Results it received.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Result } from '../../src/models/result.js';
import { readRunLog } from '../../src/monitor/run-log/reader.js';
import { writeReport, type Report } from '../../src/monitor/report/report.js';
import { RunLog } from '../../src/monitor/run-log/run-log.js';
import { quantile } from '../../src/monitor/report/series.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import type { ChromeTrace } from '../../src/monitor/report/trace.js';
import { threadMethods } from '../helpers/methods.js';
import { activeResources } from '../helpers/until.js';
import { assertValidSvg, decodePng, inkedFraction, streamBars, tempFolder } from './helpers.js';

const THREADS = 2;
const TASKS = 24;
const WINDOW = 4;

describe('a run log of a real campaign', () => {
  let folder: Awaited<ReturnType<typeof tempFolder>>;
  let logPath: string;
  const results: Result[] = [];
  let improvements = 0;
  let resourcesBefore: string[];
  let resourcesAfter: string[];
  let report: Report;

  before(async () => {
    folder = await tempFolder();
    logPath = join(folder.dir, 'run', 'run.jsonl');
    const { sleep, fail } = threadMethods();
    const queues = new LocalQueues<{ sleep: (ms: number) => Promise<number>; fail: (message: string) => never }>();
    const server = new LocalTaskServer(queues, { methods: { sleep, fail }, threads: THREADS });
    resourcesBefore = activeResources();
    const runLog = await RunLog.open(logPath, { meta: { test: 'campaign' } });
    runLog.attachQueues(queues).attachTaskServer(server, { workers: THREADS });
    server.start();

    // Every sixth task fails; the first failing one is retried once (and fails again).
    const submit = (i: number) =>
      i % 6 === 5
        ? queues.sendInputs('fail', [`task ${i}`], { maxRetries: i === 5 ? 1 : 0 })
        : queues.sendInputs('sleep', [2 + (i % 4) * 3]);
    let sent = 0;
    for (; sent < WINDOW; sent++) await submit(sent);
    let best = Infinity;
    while (results.length < TASKS) {
      const result = await queues.getResult();
      results.push(result);
      if (result.success && (result.value as number) < best) {
        runLog.recordValue('best', (best = result.value as number));
        improvements++;
      }
      if (sent < TASKS) await submit(sent++);
    }
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
    await runLog.close();
    await runLog.close(); // twice is fine
    resourcesAfter = activeResources();
    report = await writeReport(logPath, { outDir: join(folder.dir, 'report') });
  });

  after(() => folder.remove());

  test('the log holds every task sent and every result, closed properly, with nothing left running', async () => {
    const log = await readRunLog(logPath);
    assert.deepEqual(log.problems, []);
    assert.equal(log.closed, true);
    const count = (type: string) => log.records.filter((r) => r.type === type).length;
    assert.equal(count('start'), 1);
    assert.equal(count('sent'), TASKS);
    assert.equal(count('result'), TASKS);
    assert.equal(count('server'), 2, 'server started and stopped');
    assert.equal(count('value'), improvements);
    assert.equal(log.records[0]?.type, 'start');
    assert.equal(log.records.at(-1)?.type, 'end');
    // No timer, pending write or open file is left once the log is closed.
    const leftovers = resourcesAfter.filter((kind) => ['Timeout', 'Immediate', 'FileHandle', 'FSReqPromise'].includes(kind));
    assert.deepEqual(leftovers, [], `resources before: ${resourcesBefore.join(', ')}; after: ${resourcesAfter.join(', ')}`);
  });

  test('counts per method match the results received', () => {
    const { summary } = report;
    assert.equal(summary.tasks, TASKS);
    for (const method of ['sleep', 'fail']) {
      const mine = results.filter((r) => r.method === method);
      const row = summary.methods.find((m) => m.method === method);
      assert.ok(row, `a row for ${method}`);
      assert.equal(row.tasks, mine.length);
      assert.equal(row.succeeded, mine.filter((r) => r.success).length);
      assert.equal(row.failed, mine.filter((r) => !r.success).length);
      assert.equal(row.retried, mine.filter((r) => r.retries > 0).length);
    }
    assert.equal(summary.methods.find((m) => m.method === 'fail')?.retried, 1);
    assert.equal(summary.succeeded + summary.failed, TASKS);
  });

  test('latency parts match the timestamps of the results', () => {
    const sleeps = results.filter((r) => r.method === 'sleep');
    const running = sleeps.map((r) => r.time.running).sort((a, b) => a - b);
    const dispatch = sleeps.map((r) => r.timestamp.inputReceived - r.timestamp.created).sort((a, b) => a - b);
    const row = report.summary.methods.find((m) => m.method === 'sleep')!;
    // Linear interpolation between ranks, computed here independently of the summary's code.
    const interpolated = (sorted: number[], q: number) => {
      const pos = (sorted.length - 1) * q;
      const lo = Math.floor(pos);
      return sorted[lo]! + (sorted[Math.ceil(pos)]! - sorted[lo]!) * (pos - lo);
    };
    assert.ok(Math.abs(row.latency.running.median - interpolated(running, 0.5)) < 1e-9);
    assert.ok(Math.abs(row.latency.running.p95 - interpolated(running, 0.95)) < 1e-9);
    assert.ok(Math.abs(row.latency.dispatch.median - interpolated(dispatch, 0.5)) < 1e-6);
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    // Every result but the last few was followed by a submission, so most have a reaction time.
    assert.ok(row.latency.reaction.count >= sleeps.length - WINDOW);
  });

  test('utilization is the busy worker time over the declared workers and the campaign window', () => {
    const created = Math.min(...results.map((r) => r.timestamp.created));
    const received = Math.max(...results.map((r) => r.timestamp.resultReceived));
    let busy = 0;
    for (const r of results) {
      busy += r.timestamp.computeEnded - r.timestamp.computeStarted;
      for (const attempt of r.failedAttempts) busy += attempt.computeEnded - attempt.computeStarted;
    }
    const expected = busy / (THREADS * (received - created));
    const panel = report.summary.utilization.find((p) => p.name === 'workers');
    assert.ok(panel, 'a workers panel');
    assert.equal(panel.capacityLabel, 'workers');
    assert.ok(Math.abs(panel.utilization - expected) < 1e-6, `utilization ${panel.utilization} vs ${expected}`);
    assert.ok(Math.abs(report.summary.window.seconds - (received - created)) < 1e-6);
  });

  test('charts are valid SVG, their PNGs decode, and the task stream has one bar per run', async () => {
    const names = report.files.charts.map((c) => c.name);
    assert.deepEqual(names, ['utilization', 'task-stream', 'latency', 'values']);
    for (const chart of report.files.charts) {
      const svg = await readFile(chart.svg, 'utf8');
      assertValidSvg(svg, chart.name);
      assert.ok(chart.png, `${chart.name} has a PNG`);
      const image = decodePng(await readFile(chart.png));
      assert.ok(image.width > 300 && image.height > 100, `${chart.name} PNG is ${image.width}×${image.height}`);
      assert.ok(inkedFraction(image) > 0.01, `${chart.name} PNG is not blank`);
    }
    const runs = TASKS + results.reduce((n, r) => n + r.failedAttempts.length, 0);
    const stream = await readFile(report.files.charts.find((c) => c.name === 'task-stream')!.svg, 'utf8');
    assert.equal(streamBars(stream), runs, 'one bar per run of a task (a retried task ran twice)');
    assert.equal(report.summary.workers.length, THREADS, 'one row per worker thread');
  });

  test('the Chrome trace has a slice per run on a track per worker', async () => {
    const trace = JSON.parse(await readFile(report.files.trace, 'utf8')) as ChromeTrace;
    const slices = trace.traceEvents.filter((e) => e.ph === 'X');
    assert.equal(slices.length, TASKS + results.reduce((n, r) => n + r.failedAttempts.length, 0));
    assert.ok(slices.every((s) => s.dur >= 0 && s.ts >= 0));
    const tracks = trace.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === 1);
    assert.equal(tracks.length, THREADS);
    assert.ok(trace.traceEvents.some((e) => e.ph === 'C' && e.name === 'best'), 'the recorded value is a counter');
    const summary = JSON.parse(await readFile(report.files.summary, 'utf8')) as { tasks: number };
    assert.equal(summary.tasks, TASKS);
  });
});
