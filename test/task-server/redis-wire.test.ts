/**
 * Our task server against raw Redis traffic: Python Colmena's captured requests are answered in
 * its format, and malformed request elements are answered or dropped while the server keeps
 * serving.
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

const VECTORS = new URL('../fixtures/colmena-wire/', import.meta.url);
const redis = redisFixture();

const methods = {
  add: inlineMethod((a: number, b: number, kwargs?: { c?: number; label?: string }) => a + b + (kwargs?.c ?? 0)),
  echo: inlineMethod((...values: unknown[]) => values[0]),
};

describe('task server on raw Redis traffic', () => {
  let raw: Redis;
  let prefix: string;
  let server: LocalTaskServer;
  let queues: RedisQueues;

  before(async () => {
    await redis.start();
    raw = new Redis(redis.url);
    prefix = redis.prefix();
    queues = new RedisQueues({ url: redis.url, prefix, role: 'server' });
    server = new LocalTaskServer(queues, { methods }).start();
  });

  after(async () => {
    await raw.rpush(`${prefix}_requests`, 'defaultnull');
    await server.join();
    await queues.close();
    raw.disconnect();
    await redis.stop();
  });

  /** Push one raw request element and read the raw answer off the topic's result list. */
  async function exchange(element: string, topic = 'default'): Promise<Record<string, unknown>> {
    await raw.rpush(`${prefix}_requests`, element);
    const reply = await raw.blpop(`${prefix}_${topic}_result`, 10);
    assert.ok(reply, `an answer on topic ${topic}`);
    return parseLenientJson(reply[1]) as Record<string, unknown>;
  }

  it("answers Python Colmena's captured requests in its own format", async () => {
    const add = await exchange(await readFile(new URL('request_json_add.raw', VECTORS), 'utf8'));
    assert.equal(add.task_id, '4d355041-e9a0-4a6c-9b25-555bd873e92e');
    assert.equal(add.success, true);
    assert.equal(add.value, '3');
    assert.deepEqual(add.inputs, [['1', '2'], {}]);

    const kwargs = await exchange(await readFile(new URL('request_json_add_kwargs_sim_taskinfo_resources.raw', VECTORS), 'utf8'), 'sim');
    assert.equal(kwargs.value, '6');
    assert.deepEqual(kwargs.task_info, { i: 7, tag: 'x' });
    assert.deepEqual(kwargs.inputs, [[], {}], 'keep_inputs false drops the inputs');
    assert.deepEqual((kwargs.resources as Record<string, number>).node_count, 2);

    const echo = await exchange(await readFile(new URL('request_json_echo_nested.raw', VECTORS), 'utf8'));
    assert.equal(echo.value, '{"a":[1,2.5,null,true]}');
  });

  it('leaves unset times out (Python reads them as NaN), never null, and writes Python-readable failure fields', async () => {
    const element = await readFile(new URL('request_json_add.raw', VECTORS), 'utf8');
    await raw.rpush(`${prefix}_requests`, element.replace('"method": "add"', '"method": "nope"'));
    const reply = await raw.blpop(`${prefix}_default_result`, 10);
    const text = reply![1];
    assert.doesNotMatch(text, /"result_received"/, 'an unset time is left out');
    assert.match(text, /"input_received": \d/, 'a set one is written');
    assert.doesNotMatch(text, /"(created|input_received|compute_started|compute_ended|result_sent|result_received|start_task_submission|task_received|running|serialize_inputs|deserialize_inputs|serialize_results|deserialize_results|async_resolve_proxies)": null/);
    const body = parseLenientJson(text) as { failure_info: { exception: string; traceback: string }; success: boolean };
    assert.equal(body.success, false);
    assert.match(body.failure_info.exception, /'nope' is not served here\. This server runs: add, echo/);
  });

  it('refuses a pickled request with a failure that says how to fix it', async () => {
    const answer = await exchange(await readFile(new URL('request_pickle_add.raw', VECTORS), 'utf8'));
    assert.equal(answer.success, false);
    assert.match((answer.failure_info as { exception: string }).exception, /pickle.*serialization_method='json'/);
  });

  it('answers malformed requests it can identify, drops the rest, and keeps serving', async () => {
    const good = await readFile(new URL('request_json_add.raw', VECTORS), 'utf8');
    // No '{' at all: nothing to answer.
    await raw.rpush(`${prefix}_requests`, 'default-not-a-message');
    // Broken JSON, but the task id can still be read.
    const broken = await exchange('default{"task_id": "broken-1", "method": "add", "topic": "default", "inputs": [[');
    assert.equal(broken.task_id, 'broken-1');
    assert.equal(broken.success, false);
    assert.match((broken.failure_info as { exception: string }).exception, /not valid JSON/);
    // Wrong field types: each bad field is named.
    const typed = await exchange(good.replace('"keep_inputs": true', '"keep_inputs": "yes"').replace('"method": "add"', '"method": 5'));
    assert.match((typed.failure_info as { exception: string }).exception, /method: .*keep_inputs: /s);
    // null where a number belongs.
    const nulled = await exchange(good.replace('"created": 1795787658.844065', '"created": null'));
    assert.match((nulled.failure_info as { exception: string }).exception, /timestamp\.created: expected a number/);
    // Still serving.
    const ok = await exchange(good);
    assert.equal(ok.success, true);
    assert.equal(server.state, 'running');
  });
});
