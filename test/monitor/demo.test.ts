/** The demo writes a run log by default, names the report command, and can be told not to. */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeDemo, runDemo } from '../../src/cli/demo.js';
import { writeReport } from '../../src/monitor/report.js';
import { defaultRunLogPath } from '../../src/monitor/run-log.js';
import { tempFolder } from './helpers.js';

const SMALL = { tasks: 30, threads: 2, workMs: 1, seed: 3, progress: false };

test('the demo logs its run, and its last line names the report command', async () => {
  const folder = await tempFolder();
  try {
    const path = join(folder.dir, 'demo', 'run.jsonl');
    const summary = await runDemo({ ...SMALL, runLog: path });
    assert.equal(summary.runLog, path, 'a log outside the working folder is named by its absolute path');
    assert.match(describeDemo(summary).split('\n').at(-1)!, new RegExp(`npx colmena report ${summary.runLog.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    const report = await writeReport(path, { png: false });
    assert.deepEqual(report.log.problems, []);
    assert.equal(report.summary.tasks, SMALL.tasks);
    assert.ok((report.summary.values.best?.length ?? 0) > 0, 'the best value is recorded');
    assert.equal(report.summary.values.best!.at(-1)!.value, summary.best);
    assert.equal(report.summary.utilization.find((p) => p.name === 'workers')?.capacityLabel, 'workers');
    assert.equal(report.outDir, join(folder.dir, 'demo', 'report'));

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
