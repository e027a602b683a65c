import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { failureFromError } from '../../src/models/failure.js';
import { parseLenientJson } from '../../src/models/lenient-json.js';
import { Result } from '../../src/models/result.js';
import { encodeValue } from '../../src/models/serialization.js';
import {
  decodeWireMessage,
  encodeRequestElement,
  encodeWireMessage,
  isKillSignal,
  splitRequestElement,
} from '../../src/models/wire.js';

/** Every leaf of the `timestamp` and `time` objects of an encoded body must be a number. */
function assertFloatFieldsAreNumbers(body: string): void {
  assert.doesNotMatch(body, /"timestamp": \{[^}]*null/, 'null in timestamp');
  assert.doesNotMatch(body, /"time": \{.*?null.*?\}\}/, 'null in time');
  const parsed = parseLenientJson(body) as Record<string, unknown>;
  const walk = (value: unknown, path: string): void => {
    if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) walk(inner, `${path}.${key}`);
    } else {
      assert.equal(typeof value, 'number', `${path} is ${JSON.stringify(value)}, not a number`);
    }
  };
  walk(parsed.timestamp, 'timestamp');
  walk(parsed.time, 'time');
  const attempts = (parsed.failed_attempts ?? []) as Array<Record<string, unknown>>;
  for (const [i, attempt] of attempts.entries()) {
    for (const key of ['compute_started', 'compute_ended']) {
      if (key in attempt) assert.equal(typeof attempt[key], 'number', `failed_attempts.${i}.${key}`);
    }
  }
}

function roundTrip(result: Result): Result {
  const body = encodeWireMessage(result);
  assertFloatFieldsAreNumbers(body);
  return decodeWireMessage(body);
}

/** A finished result with every optional part filled. */
function fullResult(): Result {
  const result = Result.create({
    method: 'simulate',
    args: [1, { a: [1, 2.5, null, true], s: 'café' }, 'text'],
    kwargs: { x: 'y', n: 3 },
    topic: 'sim',
    taskInfo: { i: 7, tag: 'x', nested: { deep: [1, 'two'] } },
    resources: { nodeCount: 2, cpuProcesses: 4, cpuThreads: 8 },
    maxRetries: 3,
  });
  const t0 = 1795787659.051485;
  result.timestamp.inputReceived = t0 + 0.01;
  result.timestamp.startTaskSubmission = t0 + 0.011;
  result.timestamp.computeStarted = t0 + 0.5;
  result.timestamp.computeEnded = t0 + 1.25;
  result.timestamp.taskReceived = t0 + 1.3;
  result.timestamp.resultSent = t0 + 1.31;
  result.time.running = 0.75;
  result.time.deserializeInputs = 2.9514000061681145e-5;
  result.time.serializeResults = 1e-7;
  result.time.additional = { exec_preprocess: 0.1, exec_execution: 12.5, exec_postprocess: NaN };
  result.success = true;
  result.complete = true;
  result.retries = 2;
  result.workerInfo = {
    hostname: 'node-01',
    pid: 4242,
    workerId: 'thread-3',
    PARSL_WORKER_RANK: '5',
    PARSL_WORKER_POOL_ID: 'abc',
    gpus: [0, 1],
  };
  result.failedAttempts = [
    {
      failure: failureFromError(new RangeError('first try failed')),
      workerInfo: { hostname: 'node-02', workerId: 'thread-1', PARSL_WORKER_RANK: '0' },
      computeStarted: t0 + 0.1,
      computeEnded: t0 + 0.2,
    },
    {
      failure: failureFromError(new Error('worker died'), 'worker-crashed'),
      workerInfo: null,
      computeStarted: NaN,
      computeEnded: NaN,
    },
  ];
  result.encodedValue = encodeValue('json', { energy: -1.5, converged: true });
  result.messageSizes = { inputs: 60, value: 33 };
  return result;
}

describe('encode then decode', () => {
  test('a new request round-trips: unset times are left out (Python defaults them to NaN) and read back as NaN', () => {
    const request = Result.create({ method: 'add', args: [1, 2], kwargs: { c: 3, label: 'café' } });
    const body = encodeWireMessage(request);
    assert.match(body, /"timestamp": \{"created": \d+\.?\d*(e[+-]?\d+)?\}/);
    assert.match(body, /"time": \{"serialize_inputs": \d[^,]*, "proxy": \{\}, "additional": \{\}\}/);
    assert.doesNotMatch(body, /NaN/, 'a message from us with nothing non-finite is plain JSON');
    assert.match(body, /"success": null, "complete": null, /);
    assert.ok(body.endsWith(', "value": null}'), 'a request ends with "value": null');
    assertFloatFieldsAreNumbers(body);
    const decoded = decodeWireMessage(body);
    assert.deepStrictEqual(decoded, request);
    assert.ok(Number.isNaN(decoded.timestamp.computeStarted));
    assert.deepEqual(decoded.args, [1, 2]);
    assert.deepEqual(decoded.kwargs, { c: 3, label: 'café' });
  });

  test('a request element carries its topic before the body and is not a kill signal', () => {
    const request = Result.create({ method: 'add', args: [1], topic: 'sim' });
    const element = encodeRequestElement(request);
    assert.ok(element.startsWith('sim{"task_id": '));
    assert.equal(isKillSignal(element), false);
    const split = splitRequestElement(element);
    assert.ok(split);
    assert.equal(split.topic, 'sim');
    assert.deepStrictEqual(decodeWireMessage(split.body), request);
  });

  test('a finished result with worker extras, retries and failed attempts round-trips', () => {
    const result = fullResult();
    const body = encodeWireMessage(result);
    assert.match(body, /"exec_postprocess": NaN/);
    assert.doesNotMatch(body, /"result_received"/);
    assert.match(body, /"PARSL_WORKER_RANK": ?"5"/);
    assert.match(body, /"worker_id": ?"thread-3"/);
    assert.match(body, /"max_retries": 3, "retries": 2/);
    const decoded = roundTrip(result);
    assert.deepStrictEqual(decoded, result);
    assert.deepEqual(decoded.workerInfo, result.workerInfo);
    assert.equal(decoded.failedAttempts.length, 2);
    assert.ok(Number.isNaN(decoded.failedAttempts[1]!.computeStarted));
    decoded.decodeValue();
    assert.deepEqual(decoded.value, { energy: -1.5, converged: true });
  });

  test('a failure written by us reads back with name, message, stack and reason', () => {
    const result = Result.create({ method: 'fail', args: [5] });
    result.fail(failureFromError(new TypeError('bad "quoted" input'), 'error'));
    const body = encodeWireMessage(result);
    // Python reads `exception` and `traceback`; give it something shaped like repr(exc).
    const wire = (parseLenientJson(body) as { failure_info: Record<string, unknown> }).failure_info;
    assert.equal(wire.exception, 'TypeError("bad \\"quoted\\" input")');
    assert.equal(typeof wire.traceback, 'string');
    const decoded = decodeWireMessage(body);
    assert.deepStrictEqual(decoded, result);
    assert.equal(decoded.failureInfo?.name, 'TypeError');
    assert.equal(decoded.failureInfo?.message, 'bad "quoted" input');
    assert.equal(decoded.failureInfo?.exception, undefined);
  });

  test('an unknown-method answer (complete null) round-trips', () => {
    const result = Result.create({ method: 'nope' });
    result.fail({ name: 'Error', message: 'Unknown method', stack: '', reason: 'unknown-method' }, null);
    const decoded = roundTrip(result);
    assert.equal(decoded.complete, null);
    assert.equal(decoded.failureInfo?.reason, 'unknown-method');
    assert.deepStrictEqual(decoded, result);
  });

  test('an intermediate (streamed) result keeps complete: false', () => {
    const result = Result.create({ method: 'stream' });
    result.success = true;
    result.complete = false;
    result.encodedValue = encodeValue('json', [1, 2]);
    const decoded = roundTrip(result);
    assert.equal(decoded.complete, false);
    assert.deepStrictEqual(decoded, result);
  });

  test('non-finite times travel as bare NaN / Infinity / -Infinity tokens', () => {
    const result = Result.create({ method: 'm' });
    result.timestamp.computeStarted = Number.POSITIVE_INFINITY;
    result.timestamp.computeEnded = Number.NEGATIVE_INFINITY;
    result.time.additional = { a: Number.POSITIVE_INFINITY };
    const body = encodeWireMessage(result);
    assert.match(body, /"compute_started": Infinity, "compute_ended": -Infinity\}/);
    assert.match(body, /"additional": \{"a": Infinity\}/);
    const decoded = roundTrip(result);
    assert.equal(decoded.timestamp.computeStarted, Number.POSITIVE_INFINITY);
    assert.equal(decoded.timestamp.computeEnded, Number.NEGATIVE_INFINITY);
    assert.deepStrictEqual(decoded, result);
  });

  test('NaN inside time.proxy is written as NaN, not null', () => {
    const body = encodeWireMessage(Result.create({ method: 'm' })).replace(
      '"proxy": {}',
      '"proxy": {"store": {"key": {"resolve": NaN, "get": 0.5}}}',
    );
    const decoded = decodeWireMessage(body);
    const again = encodeWireMessage(decoded);
    assert.match(again, /"proxy": \{"store": \{"key": \{"resolve": NaN, "get": 0\.5\}\}\}/);
    assertFloatFieldsAreNumbers(again);
    assert.deepStrictEqual(decodeWireMessage(again), decoded);
  });

  test('msgpack inputs and value travel as base64 and round-trip', () => {
    const samples = new Float64Array([1.5, Number.NaN, -0, 1e300]);
    const ints = new Int32Array([1, -2, 2 ** 31 - 1]);
    const bytes = Buffer.from([0, 1, 2, 255]);
    const result = Result.create({
      method: 'train',
      args: [samples, ints, 12345678901234567890n],
      kwargs: { bytes, when: new Date(1_700_000_000_123) },
      serializationMethod: 'msgpack',
    });
    result.success = true;
    result.complete = true;
    result.encodedValue = encodeValue('msgpack', { loss: 0.25 });
    const body = encodeWireMessage(result);
    const wire = parseLenientJson(body) as { inputs: [unknown[], Record<string, unknown>]; value: unknown; serialization_method: string };
    assert.equal(wire.serialization_method, 'msgpack');
    for (const item of [...wire.inputs[0], ...Object.values(wire.inputs[1]), wire.value]) {
      assert.equal(typeof item, 'string');
      assert.match(item as string, /^[A-Za-z0-9+/]*={0,2}$/, 'base64 text');
    }
    assert.equal(Buffer.from(wire.inputs[0][0] as string, 'base64').equals(Buffer.from(result.inputs[0][0]!)), true);

    const decoded = roundTrip(result);
    assert.deepStrictEqual(decoded.inputs, result.inputs);
    assert.deepStrictEqual(decoded.encodedValue, result.encodedValue);
    assert.deepStrictEqual(decoded, result);
    const [a, b, c] = decoded.args;
    assert.ok(a instanceof Float64Array);
    assert.deepStrictEqual(a, samples);
    assert.ok(b instanceof Int32Array);
    assert.deepStrictEqual(b, ints);
    assert.equal(c, 12345678901234567890n);
    const kwargs = decoded.kwargs;
    assert.deepStrictEqual(Buffer.from(kwargs.bytes as Uint8Array), bytes);
    assert.ok(kwargs.when instanceof Date);
    assert.equal((kwargs.when as Date).getTime(), 1_700_000_000_123);
    decoded.decodeValue();
    assert.deepEqual(decoded.value, { loss: 0.25 });
  });

  test('keepInputs: false drops inputs on the result and still round-trips', () => {
    const result = Result.create({ method: 'add', args: [1, 2], keepInputs: false });
    result.applyKeepInputs();
    assert.deepEqual(result.inputs, [[], {}]);
    const decoded = roundTrip(result);
    assert.equal(decoded.keepInputs, false);
    assert.match(encodeWireMessage(result), /"keep_inputs": false/);
    assert.match(encodeWireMessage(result), /"inputs": \[\[\], \{\}\]/);
    assert.deepStrictEqual(decoded, result);
  });

  test('task ids and topics with quotes and non-ASCII survive', () => {
    const result = Result.create({ method: 'm"x', taskId: 'id "1" é', topic: 'tøpic' });
    const decoded = roundTrip(result);
    assert.equal(decoded.taskId, 'id "1" é');
    assert.equal(decoded.topic, 'tøpic');
    assert.equal(decoded.method, 'm"x');
  });
});
