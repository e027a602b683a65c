/** `npm start -- --resume <run>`: the demo stopped by SIGTERM part-way carries on to its budget. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCampaignRecord } from '../../src/monitor/run-log/campaign-record.js';
import { until } from '../helpers/until.js';
import { tempFolder } from '../monitor/helpers.js';
import { recordedResults } from './processes.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

function demo(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo', '--no-progress', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exited, out: () => stdout, err: () => stderr };
}

test('the demo stopped by SIGTERM says how to resume, and --resume reaches the budget without running a recorded simulation again', async () => {
  const { dir, remove } = await tempFolder();
  try {
    const log = join(dir, 'run.jsonl');
    const options = ['--budget', '120', '--work-ms', '30', '--workers', '2'];
    const first = demo([...options, '--run-log', log]);
    await until(() => recordedResults(log) >= 15 || first.child.exitCode !== null, 'the demo to record 15 results', 60_000);
    assert.equal(first.child.exitCode, null, `the demo ended early: ${first.err()}`);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.err());
    assert.match(first.err(), /carry on with: npm start -- --resume /);
    const before = await readCampaignRecord(log);
    const simulated = before.completed.filter((r) => r.method === 'simulate').length;
    assert.ok(simulated < 120, `stopped part-way (${simulated} simulations)`);

    const second = demo([...options, '--resume', dir]);
    assert.equal(await second.exited, 0, second.err());
    assert.match(second.out(), /with 120 simulations/);
    const after = await readCampaignRecord(log);
    const simulations = after.completed.filter((r) => r.method === 'simulate');
    assert.equal(simulations.length, 120, 'the budget, counted once');
    const points = new Set(simulations.map((r) => JSON.stringify(r.args[0])));
    assert.equal(points.size, 120, 'no design simulated twice');
    assert.equal(after.inFlight.filter((t) => t.method === 'simulate').length, 0);
  } finally {
    await remove();
  }
});
