import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SerializationError } from '../../src/common/errors.js';
import { parseLenientJson } from '../../src/models/lenient-json.js';
import type { Result } from '../../src/models/result.js';
import { DURATION_FIELDS, TIMESTAMP_FIELDS } from '../../src/models/timing.js';
import {
  decodeWireMessage,
  encodeWireMessage,
  isKillSignal,
  KILL_SIGNAL_ELEMENT,
  splitRequestElement,
} from '../../src/models/wire.js';
import { readVector, requestBody, vectorNames } from './vectors.js';

/** Decode a captured vector the way the transports do: requests are split at the first `{`. */
function decodeVector(name: string): Result {
  const text = readVector(name);
  if (name.startsWith('request_')) {
    const split = splitRequestElement(text);
    assert.ok(split, `${name} has a body`);
    return decodeWireMessage(split.body);
  }
  return decodeWireMessage(text);
}

function assertAllNaN(record: object, fields: readonly string[], label: string): void {
  for (const field of fields) {
    assert.ok(Number.isNaN((record as Record<string, number>)[field]), `${label}.${field} should be NaN`);
  }
}

describe('captured Python Colmena vectors', () => {
  const names = vectorNames();

  test('the vector directory holds the expected captures', () => {
    assert.ok(names.length >= 13, `found only ${names.length} vectors`);
    for (const expected of [
      'kill_signal.raw',
      'request_json_add.raw',
      'request_json_add_kwargs_sim_taskinfo_resources.raw',
      'request_json_echo_nested.raw',
      'request_pickle_add.raw',
      'result_json_add.raw',
      'result_json_fail.raw',
      'result_json_unknown_method.raw',
      'result_pickle_add.raw',
    ]) {
      assert.ok(names.includes(expected), `missing ${expected}`);
    }
  });

  for (const name of names.filter((n) => n !== 'kill_signal.raw')) {
    test(`${name} decodes, and re-encodes to an equal Result`, () => {
      const text = readVector(name);
      assert.equal(isKillSignal(text), false, 'a message is not the kill signal');
      const result = decodeVector(name);
      assert.match(result.taskId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.ok(result.method.length > 0);
      // Every vector is written by Python 0.6, so no retries and the default resources on most.
      assert.equal(result.maxRetries, 0);
      assert.equal(result.retries, 0);
      assert.deepEqual(result.failedAttempts, []);
      assert.ok(Number.isFinite(result.timestamp.created), 'created is stamped by the thinker');
      assert.ok(Number.isFinite(result.time.serializeInputs), 'serialize_inputs is measured by the thinker');
      assert.ok(Number.isNaN(result.timestamp.resultReceived), 'result_received is NaN on the wire');
      assert.ok(Number.isNaN(result.time.deserializeResults), 'deserialize_results is NaN on the wire');
      assert.deepEqual(result.time.proxy, {});
      assert.deepEqual(result.time.additional, {});

      // Our encoding of what Python sent decodes back to the same thing.
      const again = decodeWireMessage(encodeWireMessage(result));
      assert.deepStrictEqual(again, result);
    });
  }

  test('the topic before `{` matches the body topic in every request', () => {
    for (const name of names.filter((n) => n.startsWith('request_'))) {
      const { prefix, body } = requestBody(name);
      const split = splitRequestElement(readVector(name));
      assert.deepEqual(split, { topic: prefix, body });
      assert.equal(decodeWireMessage(body).topic, prefix, name);
    }
  });

  test('kill_signal.raw is the kill signal and has no body', () => {
    const text = readVector('kill_signal');
    assert.equal(text, KILL_SIGNAL_ELEMENT);
    assert.equal(isKillSignal(text), true);
    assert.equal(splitRequestElement(text), null);
  });

  test('request_json_add: identity, inputs and NaN timestamps', () => {
    const r = decodeVector('request_json_add.raw');
    assert.equal(r.taskId, '4d355041-e9a0-4a6c-9b25-555bd873e92e');
    assert.equal(r.method, 'add');
    assert.equal(r.topic, 'default');
    assert.equal(r.serializationMethod, 'json');
    assert.equal(r.keepInputs, true);
    assert.equal(r.success, null);
    assert.equal(r.complete, null);
    assert.equal(r.failureInfo, null);
    assert.equal(r.workerInfo, null);
    assert.equal(r.encodedValue, null);
    assert.equal(r.value, undefined);
    assert.deepEqual(r.taskInfo, {}, 'a request without task_info gets {}');
    assert.deepEqual(r.messageSizes, { inputs: 100 });
    assert.deepEqual(r.resources.toJSON(), { nodeCount: 1, cpuProcesses: 1, cpuThreads: 1 });
    assert.deepEqual(r.inputs, [['1', '2'], {}]);
    assert.deepEqual(r.args, [1, 2]);
    assert.deepEqual(r.kwargs, {});
    assert.equal(r.timestamp.created, 1795787658.844065);
    assert.equal(r.time.serializeInputs, 4.422599999998056e-5);
    assertAllNaN(
      r.timestamp,
      TIMESTAMP_FIELDS.filter((f) => f !== 'created'),
      'timestamp',
    );
    assertAllNaN(
      r.time,
      DURATION_FIELDS.filter((f) => f !== 'serializeInputs'),
      'time',
    );
  });

  test('request on topic sim: task_info, resources, keyword arguments with an escaped café', () => {
    const r = decodeVector('request_json_add_kwargs_sim_taskinfo_resources.raw');
    assert.equal(r.taskId, '1dac835d-03f8-4dc9-9535-010ace563fec');
    assert.equal(r.topic, 'sim');
    assert.equal(r.keepInputs, false);
    assert.deepEqual(r.taskInfo, { i: 7, tag: 'x' });
    assert.equal(r.resources.nodeCount, 2);
    assert.equal(r.resources.cpuProcesses, 1);
    assert.equal(r.resources.cpuThreads, 1);
    assert.equal(r.totalRanks, 2);
    assert.deepEqual(r.messageSizes, { inputs: 210 });
    // On the wire each argument is its own JSON text; Python escapes non-ASCII.
    assert.equal(r.inputs[1].label, '"caf\\u00e9"');
    assert.equal(r.inputs[1].c, '3');
    assert.deepEqual(r.args, [1, 2]);
    assert.deepEqual(r.kwargs, { c: 3, label: 'café' });
  });

  test('request_json_echo_nested: a dict and a string argument', () => {
    const r = decodeVector('request_json_echo_nested.raw');
    assert.equal(r.method, 'echo');
    assert.deepEqual(r.args, [{ a: [1, 2.5, null, true] }, 'str-arg']);
  });

  test('request_pickle_add decodes, but its arguments are refused naming pickle', () => {
    const r = decodeVector('request_pickle_add.raw');
    assert.equal(r.taskId, 'eeebb393-9aa5-4018-9a41-ba6cb2419d30');
    assert.equal(r.serializationMethod, 'pickle');
    assert.deepEqual(r.inputs, [['80044b012e', '80044b022e'], { c: '80044b032e' }]);
    assert.throws(
      () => r.args,
      (error: unknown) => error instanceof SerializationError && error.code === 'SERIALIZATION' && /pickle/.test(error.message),
    );
    assert.throws(() => r.kwargs, (error: unknown) => error instanceof SerializationError && /pickle/.test(error.message));
  });

  test('result_json_add: value "3", worker_info extras kept, timestamps in order', () => {
    const r = decodeVector('result_json_add.raw');
    assert.equal(r.taskId, '4822214f-21f1-42ca-a69a-4895450f92e6');
    assert.equal(r.success, true);
    assert.equal(r.complete, true);
    assert.equal(r.failureInfo, null);
    assert.deepEqual(r.workerInfo, { hostname: 'vm', PARSL_WORKER_RANK: '0', PARSL_WORKER_POOL_ID: '8cb1a43d5780' });
    assert.deepEqual(r.messageSizes, { inputs: 100, value: 50 });
    assert.equal(r.encodedValue, '3');
    assert.equal(r.value, undefined, 'the value stays encoded until decodeValue()');
    r.decodeValue();
    assert.equal(r.value, 3);
    assert.ok(Number.isFinite(r.time.deserializeResults) && r.time.deserializeResults >= 0);
    assert.equal(r.timestamp.inputReceived, 1795787659.09622);
    assert.equal(r.time.running, 1.2820000847568735e-6);
    const t = r.timestamp;
    assert.ok(t.created < t.inputReceived && t.inputReceived < t.computeStarted);
    assert.ok(t.computeStarted < t.computeEnded && t.computeEnded < t.resultSent);
    assert.deepEqual(r.args, [1, 2]);
  });

  test('result_json_add_kwargs_keep: keyword inputs travel back', () => {
    const r = decodeVector('result_json_add_kwargs_keep.raw');
    assert.deepEqual(r.args, [1]);
    assert.deepEqual(r.kwargs, { b: 2 });
    r.decodeValue();
    assert.equal(r.value, 3);
  });

  test('result_json_add_kwargs_sim_nokeep: no inputs, topic sim, rank 1', () => {
    const r = decodeVector('result_json_add_kwargs_sim_nokeep.raw');
    assert.equal(r.topic, 'sim');
    assert.equal(r.keepInputs, false);
    assert.deepEqual(r.inputs, [[], {}]);
    assert.deepEqual(r.args, []);
    assert.deepEqual(r.taskInfo, { i: 7 });
    assert.equal(r.workerInfo?.PARSL_WORKER_RANK, '1');
  });

  test('result_json_add_local_server: worker_info with hostname only, no submission stamp', () => {
    const r = decodeVector('result_json_add_local_server.raw');
    assert.deepEqual(r.workerInfo, { hostname: 'vm' });
    assert.ok(Number.isNaN(r.timestamp.startTaskSubmission));
    assert.ok(Number.isFinite(r.timestamp.taskReceived));
  });

  test('result_json_echo_nested: nested value with café', () => {
    const r = decodeVector('result_json_echo_nested.raw');
    r.decodeValue();
    const expected = { a: [1, 2.5, null, true], s: 'café' };
    assert.deepEqual(r.value, expected);
    assert.deepEqual(r.args, [expected]);
  });

  test('result_json_fail: failure_info parsed into ValueError and its message', () => {
    const r = decodeVector('result_json_fail.raw');
    assert.equal(r.method, 'fail');
    assert.equal(r.success, false);
    assert.equal(r.complete, true);
    assert.equal(r.encodedValue, null);
    assert.deepEqual(r.messageSizes, { inputs: 50 });
    assert.ok(r.failureInfo);
    assert.equal(r.failureInfo.name, 'ValueError');
    assert.equal(r.failureInfo.message, 'fail was asked to fail with args=(5,) kwargs={}');
    assert.equal(r.failureInfo.exception, "ValueError('fail was asked to fail with args=(5,) kwargs={}')");
    assert.match(r.failureInfo.stack, /^Traceback \(most recent call last\):\n/);
    assert.match(r.failureInfo.stack, /ValueError: fail was asked to fail/);
    assert.equal(r.workerInfo?.hostname, 'vm');
    assert.deepEqual(r.args, [5]);
  });

  test('result_json_unknown_method: complete null, no worker, method and options named', () => {
    const r = decodeVector('result_json_unknown_method.raw');
    assert.equal(r.method, 'no_such_method');
    assert.equal(r.success, false);
    assert.equal(r.complete, null);
    assert.equal(r.workerInfo, null);
    assert.ok(r.failureInfo);
    assert.equal(r.failureInfo.name, 'ValueError');
    assert.equal(r.failureInfo.message, 'Method name "no_such_method" not recognized. Options: fail, echo, add');
    assert.ok(Number.isNaN(r.timestamp.computeStarted));
    assert.ok(Number.isNaN(r.time.running));
    assert.ok(Number.isFinite(r.timestamp.resultSent));
  });

  test('result_pickle_add decodes; its value and inputs are refused naming pickle', () => {
    const r = decodeVector('result_pickle_add.raw');
    assert.equal(r.serializationMethod, 'pickle');
    assert.equal(r.success, true);
    assert.equal(r.encodedValue, '80044b032e');
    assert.throws(() => r.decodeValue(), (error: unknown) => error instanceof SerializationError && /pickle/.test(error.message));
    assert.equal(r.value, undefined);
    assert.throws(() => r.args, SerializationError);
  });

  test('re-encoding a Python result keeps Python field order (plus our retry fields)', () => {
    const python = readVector('result_json_add.raw');
    const pythonKeys = Object.keys(parseLenientJson(python) as object);
    const ours = encodeWireMessage(decodeWireMessage(python));
    const ourKeys = Object.keys(parseLenientJson(ours) as object);
    assert.deepEqual(
      ourKeys.filter((k) => k !== 'max_retries' && k !== 'retries'),
      pythonKeys,
    );
    // Python's json.dumps separators.
    assert.ok(ours.startsWith('{"task_id": "4822214f-21f1-42ca-a69a-4895450f92e6", "method": "add", '));
    assert.match(ours, /"timestamp": \{"created": 1795787659\.051485, "input_received": 1795787659\.09622, /);
    // Python's NaN for an unset time is left out (Python reads a missing one as NaN again).
    assert.doesNotMatch(ours, /"result_received"/);
  });
});
