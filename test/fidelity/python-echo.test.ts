/**
 * Values on the way to Python and back, over the real Redis wire in Python Colmena's format.
 *
 * Python → our task server → Python: requests are written as Python's `json.dumps` writes them
 * (each argument encoded on its own, from the captured echo request), and each answer's value is
 * read as Python's `json.loads` would (see python-view.ts). Non-finite floats, -0.0, None,
 * unicode and nesting come back exactly; integral floats come back as ints (JavaScript has one
 * number type — documented in docs/porting.md); ints beyond 2^53 lose precision.
 *
 * Python task server → our thinker: results written as Python writes them (from the captured
 * results) reach a TypeScript thinker with NaN, ±Infinity, -0 and None (null) intact, and a
 * Python exception's `repr` kept on failureInfo.exception.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { inlineMethod } from '../../src/methods/spec.js';
import { parseLenientJson } from '../../src/models/lenient-json.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { redisFixture } from '../helpers/redis.js';
import { pythonCases } from './python-values.js';
import { pythonView } from './python-view.js';

process.env.COLMENA_LOG_LEVEL ??= 'error';
const VECTORS = new URL('../fixtures/colmena-wire/', import.meta.url);
const redis = redisFixture();

/**
 * [what Python's json.dumps writes for the argument, what Python reads back from our answer].
 * The right-hand side is written by hand from Python's rules.
 */
const ECHO_VECTORS: [string, string][] = [
  ['NaN', 'nan'],
  ['Infinity', 'inf'],
  ['-Infinity', '-inf'],
  ['-0.0', '-0.0'],
  ['0.1', '0.1'],
  ['1e-07', '1e-07'],
  ['1.7976931348623157e+308', '1.7976931348623157e+308'],
  ['5e-324', '5e-324'],
  ['null', 'None'],
  ['[1, 2.5, null, true, false]', '[1, 2.5, None, True, False]'],
  ['{"a": [NaN, {"b": -Infinity, "c": [Infinity, -0.0]}], "d": null}', '{"a": [nan, {"b": -inf, "c": [inf, -0.0]}], "d": None}'],
  ['"caf\\u00e9 \\ud83d\\ude00 NaN Infinity"', '"café 😀 NaN Infinity"'],
  ['{"NaN": "-0.0", "k\\u00e9y": [[], {}]}', '{"NaN": "-0.0", "kéy": [[], {}]}'],
  // Integral floats become ints: JavaScript cannot tell 2.0 from 2 (documented).
  ['2.0', '2'],
  ['[1.0, 2.5]', '[1, 2.5]'],
  ['1e+16', '10000000000000000'],
  ['1e+22', '1e+22'],
  // Ints beyond 2^53 are doubles here (documented).
  ['9007199254740993', '9007199254740992'],
];

describe('value fidelity with Python over the Redis wire', () => {
  let raw: Redis;
  let prefix: string;
  let serverQueues: RedisQueues;
  let server: LocalTaskServer;
  let echoTemplate: string;
  let addTemplate: string;

  before(async () => {
    await redis.start();
    raw = new Redis(redis.url);
    prefix = redis.prefix();
    serverQueues = new RedisQueues({ url: redis.url, prefix, role: 'server' });
    const methods = {
      echo: inlineMethod((value: unknown) => value),
      add: inlineMethod((a: number, b: number, c = 0) => a + b + c, { params: ['a', 'b', 'c'] }),
    };
    server = new LocalTaskServer(serverQueues, { methods }).start();
    echoTemplate = await readFile(new URL('request_json_echo_nested.raw', VECTORS), 'utf8');
    addTemplate = await readFile(new URL('request_json_add.raw', VECTORS), 'utf8');
  });

  after(async () => {
    await raw.rpush(`${prefix}_requests`, 'defaultnull');
    await server.join();
    await serverQueues.close();
    raw.disconnect();
    await redis.stop();
  });

  /** A Python request from a captured one, with its inputs replaced (each entry already JSON text). */
  function request(template: string, taskId: string, args: string[], kwargs: Record<string, string>): string {
    const inputs = JSON.stringify([args, kwargs]).replace(/","/g, '", "');
    return template.replace(/"task_id": "[^"]+"/, `"task_id": "${taskId}"`).replace(/"inputs": \[.*\], "value": null\}$/, `"inputs": ${inputs}, "value": null}`);
  }

  async function exchange(element: string): Promise<Record<string, unknown>> {
    await raw.rpush(`${prefix}_requests`, element);
    const reply = await raw.blpop(`${prefix}_default_result`, 10);
    assert.ok(reply, 'an answer on the default topic');
    return parseLenientJson(reply[1]) as Record<string, unknown>;
  }

  it('echoes every vector back as Python reads it', async () => {
    const seen: [string, string][] = [];
    for (const [index, [sent]] of ECHO_VECTORS.entries()) {
      const answer = await exchange(request(echoTemplate, `echo-${index}`, [sent], {}));
      assert.equal(answer.success, true, JSON.stringify(answer.failure_info));
      assert.equal(typeof answer.value, 'string', 'the value is JSON text, as Python encodes it');
      seen.push([sent, pythonView(answer.value as string)]);
    }
    assert.deepEqual(seen, ECHO_VECTORS);
  });

  it('echoes 300 random nested Python values as Python reads them (fuzz, seeded)', async () => {
    const cases = pythonCases(17, 300);
    const mismatches: string[] = [];
    for (const [index, { sent, expected }] of cases.entries()) {
      const answer = await exchange(request(echoTemplate, `fuzz-${index}`, [sent], {}));
      const seen = answer.success === true ? pythonView(answer.value as string) : `failed: ${JSON.stringify(answer.failure_info)}`;
      if (seen !== expected) mismatches.push(`${sent} → ${seen}, expected ${expected}`);
    }
    assert.deepEqual(mismatches, []);
  });

  it("binds a Python thinker's input_kwargs by name", async () => {
    const byName = await exchange(request(addTemplate, 'kw-1', [], { a: '1', b: '2' }));
    assert.equal(byName.value, '3');
    const mixed = await exchange(request(addTemplate, 'kw-2', ['1'], { c: '10', b: '2' }));
    assert.equal(mixed.value, '13');
    const unknown = await exchange(request(addTemplate, 'kw-3', ['1'], { d: '2' }));
    assert.equal(unknown.success, false);
    assert.match((unknown.failure_info as { exception: string }).exception, /unexpected keyword argument 'd'/);
  });

  it("reaches a TypeScript thinker from a Python task server with values, None and Python's exception intact", async () => {
    const client = new RedisQueues({ url: redis.url, prefix: `${prefix}-py`, topics: ['default'] });
    try {
      const results = await readFile(new URL('result_json_echo_nested.raw', VECTORS), 'utf8');
      const failure = await readFile(new URL('result_json_fail.raw', VECTORS), 'utf8');
      // Python's answers, keyed by what the Python method returned (json.dumps of it, then as a string).
      const values = ['NaN', '[Infinity, -Infinity, -0.0, 2.5]', '{"x": null, "y": "caf\\u00e9"}', 'null'];
      const ids: string[] = [];
      for (let i = 0; i < values.length + 2; i++) ids.push(await client.sendInputs('echo', [i]));
      for (const [i, id] of ids.entries()) {
        // Play the Python server: take the request, answer it as Python does.
        const popped = await raw.blpop(`${prefix}-py_requests`, 10);
        assert.ok(popped);
        const body = popped[1].slice(popped[1].indexOf('{'));
        const taskId = (parseLenientJson(body) as { task_id: string }).task_id;
        let answer: string;
        const withValue = (value: string): string => `${results.slice(0, results.lastIndexOf('"value": '))}"value": ${value}}`;
        if (i < values.length) answer = withValue(JSON.stringify(values[i]));
        else if (i === values.length) answer = withValue('null'); // a bare None
        else answer = failure;
        answer = answer.replace(/"task_id": "[^"]+"/, `"task_id": "${taskId}"`);
        await raw.rpush(`${prefix}-py_default_result`, answer);
        assert.equal(taskId, id);
      }
      const received = new Map<string, unknown>();
      let failed: unknown;
      for (let i = 0; i < ids.length; i++) {
        const result = await client.getResult('default', { timeoutMs: 10_000 });
        if (result.success) received.set(result.taskId, result.value);
        else failed = result.failureInfo;
      }
      assert.deepEqual(
        ids.slice(0, values.length + 1).map((id) => received.get(id)),
        [NaN, [Infinity, -Infinity, -0, 2.5], { x: null, y: 'café' }, null, null],
      );
      assert.ok(Object.is((received.get(ids[1]!) as number[])[2], -0), '-0.0 stays -0');
      assert.equal((failed as { exception?: string }).exception, "ValueError('fail was asked to fail with args=(5,) kwargs={}')");
      assert.equal((failed as { name: string }).name, 'ValueError');
    } finally {
      await client.close();
    }
  });
});
