/** A damaged run log: each bad line is reported with its number, and the rest is still used. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InvalidArgumentError, InvalidStateError } from '../../src/common/errors.js';
import { inlineMethod } from '../../src/methods/spec.js';
import { parseRunLogLine } from '../../src/monitor/run-log/line-parser.js';
import { readRunLog } from '../../src/monitor/run-log/reader.js';
import { writeReport } from '../../src/monitor/report/report.js';
import { RunLog } from '../../src/monitor/run-log/run-log.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { tempFolder } from './helpers.js';

const TASKS = 10;
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const run = promisify(execFile);

/** Run `colmena` from the sources; resolves with its exit code and output whatever the code. */
async function colmena(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** A small real campaign on inline methods, logged to `path`. */
async function logCampaign(path: string): Promise<void> {
  const queues = new LocalQueues<{ double: (x: number) => Promise<number> }>();
  const server = new LocalTaskServer(queues, { methods: { double: inlineMethod(async (x: number) => x * 2) } });
  const runLog = await RunLog.open(path);
  runLog.attachQueues(queues).attachTaskServer(server);
  server.start();
  for (let i = 0; i < TASKS; i++) await queues.sendInputs('double', [i]);
  for (let i = 0; i < TASKS; i++) runLog.recordValue('doubled', (await queues.getResult()).value as number);
  await queues.sendKillSignal();
  await server.join();
  await queues.close();
  await runLog.close();
}

describe('reading a damaged run log', () => {
  let folder: Awaited<ReturnType<typeof tempFolder>>;
  let damaged: string;
  let totalLines: number;
  let badResultLine: number;

  before(async () => {
    folder = await tempFolder();
    const good = join(folder.dir, 'good.jsonl');
    await logCampaign(good);
    const lines = (await readFile(good, 'utf8')).trimEnd().split('\n');
    // Line 4 becomes garbage; a result's method becomes a number; the last line is cut in half.
    lines.splice(3, 0, 'this is not JSON {');
    badResultLine = lines.findIndex((line) => line.includes('"type":"result"')) + 1;
    lines[badResultLine - 1] = lines[badResultLine - 1]!.replace(/"method":"double"/, '"method":5');
    const last = lines.pop()!;
    totalLines = lines.length + 1;
    damaged = join(folder.dir, 'damaged.jsonl');
    await writeFile(damaged, `${lines.join('\n')}\n${last.slice(0, Math.floor(last.length / 2))}`);
  });

  after(() => folder.remove());

  test('each bad line is listed with its number and what is wrong', async () => {
    const log = await readRunLog(damaged);
    assert.deepEqual(
      log.problems.map((p) => p.line),
      [4, badResultLine, totalLines],
    );
    assert.match(log.problems[0]!.message, /^not JSON \(.+\): "this is not JSON \{"$/);
    assert.match(log.problems[1]!.message, /^invalid 'result' record: 'method': .*expected string/i);
    assert.match(log.problems[2]!.message, /ends in the middle of this line/);
    assert.equal(log.closed, false, 'the closing line was cut');
  });

  test('the report uses the other lines', async () => {
    const report = await writeReport(damaged, { outDir: join(folder.dir, 'report'), png: false });
    assert.equal(report.summary.tasks, TASKS - 1, 'every result but the broken one');
    assert.equal(report.summary.values.doubled?.length, TASKS);
    assert.ok(report.files.charts.every((c) => c.png === null));
  });

  test('colmena report prints the problems with line numbers and still reports', async () => {
    const out = join(folder.dir, 'cli-report');
    const { code, stdout, stderr } = await colmena('report', damaged, '--out', out, '--no-png');
    assert.equal(code, 0, stderr);
    assert.match(stderr, /damaged\.jsonl line 4: not JSON/);
    assert.match(stderr, new RegExp(`line ${badResultLine}: invalid 'result' record`));
    assert.match(stderr, new RegExp(`line ${totalLines}: the log ends in the middle of this line`));
    assert.match(stderr, /has no closing line/);
    assert.match(stdout, new RegExp(`^${TASKS - 1} tasks \\(${TASKS - 1} succeeded, 0 failed\\)`));
    assert.match(stdout, /double\s+dispatch delay/);
    assert.match(stdout, /Wrote .*task-stream\.svg/);
  });

  test('colmena report explains a missing file, an unknown value and an empty log', async () => {
    const missing = await colmena('report', join(folder.dir, 'nope.jsonl'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /(Cannot report on .*nope\.jsonl: ENOENT|No run log at .*nope\.jsonl)/);

    const unknown = await colmena('report', damaged, '--value', 'best', '--out', join(folder.dir, 'x'));
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /No value named 'best' in .*It records: doubled\./);

    const empty = join(folder.dir, 'empty.jsonl');
    await writeFile(empty, 'garbage\n');
    const nothing = await colmena('report', empty);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /has no usable run-log record:\n\s+line 1: not JSON/);
  });

  test('single lines: wrong shapes are named', () => {
    assert.deepEqual(parseRunLogLine('[1]'), { problem: 'expected a JSON object, got an array' });
    assert.match((parseRunLogLine('{"type":"bogus","t":1}') as { problem: string }).problem, /unknown record type "bogus"; known types: start, sent/);
    assert.match((parseRunLogLine('{"type":"value","t":1,"name":"x"}') as { problem: string }).problem, /invalid 'value' record: 'value'/);
    const value = parseRunLogLine('{"type":"value","t":1,"name":"x","value":null}');
    assert.ok('record' in value && value.record.type === 'value' && Number.isNaN(value.record.value), 'null reads back as NaN');
  });
});

describe('RunLog misuse', () => {
  test('bad options and values are refused with what was expected', async () => {
    const folder = await tempFolder();
    try {
      await assert.rejects(RunLog.open(join(folder.dir, 'a.jsonl'), { flushIntervalMs: 0 }), (e) => e instanceof InvalidArgumentError && /flushIntervalMs/.test(e.message));
      await assert.rejects(RunLog.open(''), InvalidArgumentError);
      const log = await RunLog.open(join(folder.dir, 'b.jsonl'));
      assert.throws(() => log.recordValue('', 1), /non-empty name/);
      assert.throws(() => log.recordValue('x', '1' as unknown as number), /value must be a number, got string/);
      assert.throws(() => log.attachTaskServer({ events: { on: () => () => {} } }, { workers: 0 }), /workers must be a positive integer/);
      await log.close();
      assert.throws(() => log.recordValue('x', 1), (e) => e instanceof InvalidStateError && /closed run log/.test(e.message));
      const parsed = await readRunLog(join(folder.dir, 'b.jsonl'));
      assert.deepEqual(
        parsed.records.map((r) => r.type),
        ['start', 'end'],
      );
    } finally {
      await folder.remove();
    }
  });
});
