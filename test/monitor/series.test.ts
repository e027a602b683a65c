/** The numeric and layout helpers behind the summary. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Result } from '../../src/models/result.js';
import { resultLine, resultRecord } from '../../src/monitor/run-log/records.js';
import { alignSteps, binAverages, distribution, integrate, quantile, stepFromDeltas } from '../../src/monitor/report/series.js';
import { placeSpans, type TaskSpan, workerKey, workerLabels } from '../../src/monitor/report/workers.js';

describe('series', () => {
  test('quantiles interpolate between ranks; distributions skip NaN', () => {
    assert.equal(quantile([10], 0.95), 10);
    assert.equal(quantile([1, 2, 3, 4, 5], 0.5), 3);
    assert.ok(Math.abs(quantile([0, 10], 0.95) - 9.5) < 1e-12);
    assert.ok(Number.isNaN(quantile([], 0.5)));
    const d = distribution([3, NaN, 1, 2]);
    assert.deepEqual({ ...d }, { count: 3, mean: 2, median: 2, p95: 2.9, max: 3 });
    assert.equal(distribution([NaN]).count, 0);
  });

  test('step functions from deltas integrate exactly over a window', () => {
    // Two tasks: [1, 3) and [2, 5).
    const busy = stepFromDeltas([
      { t: 1, delta: 1 },
      { t: 3, delta: -1 },
      { t: 2, delta: 1 },
      { t: 5, delta: -1 },
    ]);
    assert.deepEqual(busy, [
      { t: 1, value: 1 },
      { t: 2, value: 2 },
      { t: 3, value: 1 },
      { t: 5, value: 0 },
    ]);
    assert.equal(integrate(busy, 0, 10), 5);
    assert.equal(integrate(busy, 2.5, 4), 0.5 * 2 + 1 * 1);
    // Merged changes at one time keep the final value.
    assert.deepEqual(stepFromDeltas([{ t: 1, delta: 1 }, { t: 1, delta: -1 }]), [{ t: 1, value: 0 }]);
  });

  test('bin averages keep the integral; aligned grids end at the window end', () => {
    const steps = [
      { t: 0, value: 2 },
      { t: 1, value: 0 },
      { t: 3, value: 4 },
    ];
    const bins = binAverages(steps, 0, 4, 2);
    assert.deepEqual(bins, [
      { t: 0, value: 1 },
      { t: 2, value: 2 },
    ]);
    const aligned = alignSteps([steps, [{ t: 2, value: 1 }]], 0, 4, 100);
    assert.deepEqual(aligned.t, [0, 1, 2, 3, 4]);
    assert.deepEqual(aligned.values, [
      [2, 0, 0, 4, 4],
      [0, 0, 1, 1, 1],
    ]);
    const binned = alignSteps([steps], 0, 4, 2);
    assert.deepEqual(binned.t, [0, 2, 4]);
    assert.deepEqual(binned.values, [[1, 2, 2]]);
  });
});

describe('task stream rows', () => {
  const span = (workerKey: string, start: number, end: number): TaskSpan => ({ taskId: `${start}`, method: 'm', success: true, retried: false, workerKey, start, end });

  test('labels are as short as still tells workers apart', () => {
    const a = workerKey({ hostname: 'h1', pid: 10, workerId: 'thread-1' });
    const b = workerKey({ hostname: 'h1', pid: 10, workerId: 'thread-2' });
    const c = workerKey({ hostname: 'h1', pid: 11, workerId: 'thread-1' });
    const d = workerKey({ hostname: 'h2', pid: 11, workerId: 'thread-1' });
    assert.deepEqual([...workerLabels([a, b]).values()], ['thread-1', 'thread-2']);
    assert.deepEqual([...workerLabels([a, c]).values()], ['10/thread-1', '11/thread-1']);
    assert.deepEqual([...workerLabels([c, d]).values()], ['h1/11/thread-1', 'h2/11/thread-1']);
    assert.deepEqual([...workerLabels([workerKey(null)]).values()], ['unknown worker']);
  });

  test('overlapping runs on one worker get lanes; rows sort naturally', () => {
    const inline = workerKey({ hostname: 'h', pid: 1, workerId: 'inline' });
    const t10 = workerKey({ hostname: 'h', pid: 1, workerId: 'thread-10' });
    const t2 = workerKey({ hostname: 'h', pid: 1, workerId: 'thread-2' });
    const { spans, rows } = placeSpans([span(inline, 0, 2), span(inline, 1, 3), span(inline, 2, 4), span(t10, 0, 1), span(t2, 0, 1)]);
    assert.deepEqual(rows, ['inline #1', 'inline #2', 'thread-2', 'thread-10']);
    assert.deepEqual(
      spans.filter((s) => s.workerKey === inline).map((s) => s.row),
      ['inline #1', 'inline #2', 'inline #1'],
    );
  });
});

describe('result lines', () => {
  test('the hand-written line is the JSON of the result record, for every shape of result', () => {
    const plain = Result.create({ method: 'm', args: [1], topic: 't' });
    const done = Result.create({ method: 'sim "quoted"\n', args: [] });
    done.success = true;
    done.complete = true;
    done.workerInfo = { hostname: 'h', pid: 7, workerId: 'thread-1', extra: 'dropped' };
    done.timestamp.computeStarted = 1_700_000_000.123456;
    done.time.running = 0.000006520000000023174;
    done.time.additional = { exec_execution: 0.5 };
    done.messageSizes = { inputs: 10, value: 3 };
    const failed = Result.create({ method: 'f', args: [], maxRetries: 1 });
    failed.fail({ name: 'RangeError', message: 'bad "x"', stack: 'RangeError: ...', reason: 'error' });
    failed.failedAttempts.push({ failure: failed.failureInfo!, workerInfo: null, computeStarted: 1, computeEnded: NaN });
    failed.retries = 1;
    for (const result of [plain, done, failed]) {
      const line = resultLine(result, 1_700_000_001.5);
      assert.ok(line.endsWith('}\n'));
      assert.deepEqual(JSON.parse(line), JSON.parse(JSON.stringify(resultRecord(result, 1_700_000_001.5))));
    }
    assert.equal(resultRecord(done, 0).time.running, 0.00000652);
  });
});
