/** The demo writes a run log by default, names the report command, and can be told not to. */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeDemo, runDemo } from '../../src/demo/campaign.js';
import { writeReport } from '../../src/monitor/report/report.js';
import { formatSummary } from '../../src/monitor/report/table.js';
import { WORKER_UTILIZATION } from '../../src/monitor/report/utilization.js';
import { defaultRunLogPath } from '../../src/monitor/run-log/run-log.js';
import { tempFolder } from './helpers.js';

const SMALL = { budget: 30, workers: 2, workMs: 1, seed: 3, progress: false };

test('the demo logs its run, and its last line names the report command', async () => {
  const folder = await tempFolder();
  try {
    const path = join(folder.dir, 'demo', 'run.jsonl');
    const summary = await runDemo({ ...SMALL, runLog: path });
    assert.equal(summary.runLog, path, 'a log outside the working folder is named by its absolute path');
    assert.match(describeDemo(summary).split('\n').at(-1)!, new RegExp(`npx colmena report ${summary.runLog.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    const report = await writeReport(path, { png: false });
    assert.deepEqual(report.log.problems, []);
    const byMethod = new Map(report.summary.methods.map((m) => [m.method, m.tasks]));
    assert.equal(byMethod.get('simulate'), SMALL.budget);
    assert.equal(byMethod.get('retrain'), summary.trainings.count);
    assert.ok((report.summary.values.best?.length ?? 0) > 0, 'the best value is recorded');
    assert.equal(report.summary.values.best!.at(-1)!.value, summary.best);
    assert.equal(report.summary.utilization.find((p) => p.name === 'workers')?.capacityLabel, 'workers');
    const pools = report.summary.utilization.filter((p) => p.source === 'resource-counter').map((p) => p.name);
    assert.ok(pools.includes('simulation') && pools.includes('training'), `slot pools in the report: ${pools.join(', ')}`);
    assert.equal(report.outDir, join(folder.dir, 'demo', 'report'));

    // One utilization, named alike in both: the demo's figure is the report's worker utilization,
    // over the same span (the demo counts the values it received, the log the times it recorded).
    const workers = report.summary.utilization.find((p) => p.source === 'tasks')!;
    assert.ok(Math.abs(summary.seconds - report.summary.window.seconds) < 0.05, `span ${summary.seconds} s vs ${report.summary.window.seconds} s`);
    assert.ok(Math.abs(summary.utilization.total - workers.utilization) < 0.03, `demo ${summary.utilization.total} vs report ${workers.utilization}`);
    assert.match(describeDemo(summary), new RegExp(`${WORKER_UTILIZATION.name} \\(simulate [\\d.]+ %, retrain [\\d.]+ %\\)`));
    assert.match(formatSummary(report.summary), new RegExp(`^${WORKER_UTILIZATION.name} .*retrain [\\d.]+ %, simulate [\\d.]+ %$`, 'm'));
    assert.match(formatSummary(report.summary), /^slot occupancy, pool simulation /m);

    const quiet = await runDemo({ ...SMALL, runLog: false });
    assert.equal(quiet.runLog, null);
    assert.doesNotMatch(describeDemo(quiet), /colmena report/);
    assert.deepEqual(await readdir(folder.dir), ['demo']);
  } finally {
    await folder.remove();
  }
});

test('the default run log goes to runs/<UTC time>/run.jsonl', () => {
  assert.equal(defaultRunLogPath(new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 67))), join('runs', '2025-01-02T03-04-05.067Z', 'run.jsonl'));
});
