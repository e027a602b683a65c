/**
 * Colmena's JSON result form: every captured Python result read with fromColmenaJSON and written
 * with toColmenaJSON comes out byte for byte; our own results parse back equal; floats, unicode
 * and failures are written as Python's json.dumps writes them.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { pythonString } from '../../src/models/colmena-json.js';
import { pythonFloat } from '../../src/models/python-json.js';
import { fromColmenaJSON } from '../../src/models/colmena-json-read.js';
import { Result } from '../../src/models/result.js';
import { pythonView } from './python-view.js';

const VECTORS = new URL('../fixtures/colmena-wire/', import.meta.url);

describe('toColmenaJSON / fromColmenaJSON', () => {
  it("writes every captured Python result back byte for byte", async () => {
    const files = (await readdir(VECTORS)).filter((name) => name.startsWith('result_json_'));
    assert.ok(files.length >= 7, `captured results: ${files.join(', ')}`);
    for (const file of files) {
      const text = await readFile(new URL(file, VECTORS), 'utf8');
      assert.equal(fromColmenaJSON(text).toColmenaJSON(), text, file);
    }
  });

  it('reads a captured result with its value decoded and Python fields kept', async () => {
    const failed = fromColmenaJSON(await readFile(new URL('result_json_fail.raw', VECTORS), 'utf8'));
    assert.equal(failed.failureInfo?.exception, "ValueError('fail was asked to fail with args=(5,) kwargs={}')");
    assert.equal(failed.value, null);
    const echo = fromColmenaJSON(await readFile(new URL('result_json_echo_nested.raw', VECTORS), 'utf8'));
    assert.deepEqual(echo.value, { a: [1, 2.5, null, true], s: 'café' });
    assert.equal(echo.workerInfo?.PARSL_WORKER_RANK, '0');
  });

  it('writes our own results so they parse back equal, with Python encodings', () => {
    const result = Result.create({ method: 'simulate', args: [2.5, 'naïve 😀'], kwargs: { x: -0 }, taskInfo: { i: 7, w: 0.5 }, topic: 'sim' });
    result.timestamp.computeStarted = 1795787660;
    result.time.running = 1e-5;
    result.success = true;
    result.complete = true;
    result.workerInfo = { hostname: 'vm', pid: 12, workerId: 'thread-1' };
    result.encodedValue = '[NaN, 1.5]';
    const text = result.toColmenaJSON();
    assert.match(text, /"compute_started": 1795787660\.0, /, 'timestamps are floats');
    assert.match(text, /"running": 1e-05, /, "durations in Python's repr");
    assert.match(text, /"task_info": \{"i": 7, "w": 0\.5\}/, 'task_info ints stay ints');
    assert.match(text, /"worker_info": \{"hostname": "vm", "pid": 12, "worker_id": "thread-1"\}/);
    assert.ok(!/[^ -~]/.test(text), 'non-ASCII escaped as \\uXXXX');
    assert.doesNotMatch(text, /timeout_ms|failed_attempts|value_proxy/);
    const back = fromColmenaJSON(text);
    assert.equal(back.toColmenaJSON(), text);
    assert.deepEqual(back.args, [2.5, 'naïve 😀']);
    assert.ok(Object.is(back.kwargs.x, -0));
    assert.deepEqual(back.value, [NaN, 1.5]);
    assert.deepEqual(back.taskInfo, { i: 7, w: 0.5 });
    assert.equal(back.topic, 'sim');
    assert.equal(pythonView(text.slice(text.indexOf('"timestamp": ') + 13, text.indexOf(', "time": '))).includes('1795787660.0'), true);
  });

  it("writes a failure of ours with a Python-style exception repr and the stack as traceback", () => {
    const result = new Result({ method: 'm' }).fail({ name: 'RangeError', message: "it's bad", stack: 'RangeError: it\'s bad\n  at x' });
    const failure = JSON.parse(result.toColmenaJSON().replace(/NaN/g, 'null')).failure_info as Record<string, string>;
    assert.deepEqual(failure, { exception: 'RangeError("it\'s bad")', traceback: "RangeError: it's bad\n  at x" });
  });

  it("writes floats and strings as Python's json.dumps does", () => {
    assert.deepEqual([2, 0.1, 1e16, 1e15, 1.5e-5, 0.0001, -0, NaN, -Infinity, 123456.789].map(pythonFloat), [
      '2.0', '0.1', '1e+16', '1000000000000000.0', '1.5e-05', '0.0001', '-0.0', 'NaN', '-Infinity', '123456.789',
    ]);
    assert.equal(pythonString('café "q" \\ \n 😀 \u007f'), '"caf\\u00e9 \\"q\\" \\\\ \\n \\ud83d\\ude00 \\u007f"');
  });
});
