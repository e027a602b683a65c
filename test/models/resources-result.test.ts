import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { failureFromError } from '../../src/models/failure.js';
import { ResourceRequirements, type ResourceRequirementsInit } from '../../src/models/resources.js';
import { Result } from '../../src/models/result.js';
import { InvalidArgumentError } from '../../src/common/errors.js';
import { encodeValue } from '../../src/models/serialization.js';

describe('ResourceRequirements', () => {
  test('defaults to one node, one process, one thread', () => {
    const resources = new ResourceRequirements();
    assert.equal(resources.nodeCount, 1);
    assert.equal(resources.cpuProcesses, 1);
    assert.equal(resources.cpuThreads, 1);
    assert.equal(resources.totalRanks, 1);
    assert.deepEqual(resources.toJSON(), { nodeCount: 1, cpuProcesses: 1, cpuThreads: 1 });
    assert.deepEqual(new ResourceRequirements({ cpuThreads: 4 }).toJSON(), { nodeCount: 1, cpuProcesses: 1, cpuThreads: 4 });
  });

  test('totalRanks is nodes × processes per node; threads do not count', () => {
    assert.equal(new ResourceRequirements({ nodeCount: 4, cpuProcesses: 8, cpuThreads: 2 }).totalRanks, 32);
    assert.equal(new ResourceRequirements({ nodeCount: 3 }).totalRanks, 3);
    assert.equal(new ResourceRequirements({ cpuProcesses: 5, cpuThreads: 64 }).totalRanks, 5);
  });

  test('JSON.stringify uses toJSON', () => {
    assert.equal(
      JSON.stringify(new ResourceRequirements({ nodeCount: 2 })),
      '{"nodeCount":2,"cpuProcesses":1,"cpuThreads":1}',
    );
  });

  test('each field must be a positive integer; the error names the field and the value', () => {
    const bad: Array<[keyof ResourceRequirementsInit, unknown]> = [
      ['nodeCount', 0],
      ['nodeCount', -1],
      ['nodeCount', 1.5],
      ['cpuProcesses', Number.NaN],
      ['cpuProcesses', Number.POSITIVE_INFINITY],
      ['cpuThreads', '2'],
      ['cpuThreads', 0],
    ];
    for (const [field, value] of bad) {
      assert.throws(
        () => new ResourceRequirements({ [field]: value as number }),
        (error: unknown) =>
          error instanceof InvalidArgumentError &&
          error.message.includes(`ResourceRequirements.${field}`) &&
          error.message.includes(String(value)),
        `${field} = ${String(value)}`,
      );
    }
  });

  test('a Result validates its resources and maxRetries', () => {
    assert.throws(() => new Result({ method: 'm', resources: { nodeCount: 0 } }), /nodeCount/);
    assert.throws(() => new Result({ method: 'm', maxRetries: -1 }), (e: unknown) => e instanceof InvalidArgumentError && /maxRetries/.test(e.message));
    assert.throws(() => new Result({ method: 'm', maxRetries: 0.5 }), InvalidArgumentError);
    const shared = new ResourceRequirements({ nodeCount: 2, cpuProcesses: 3 });
    const result = new Result({ method: 'm', resources: shared });
    assert.equal(result.resources, shared, 'an instance is used as is');
    assert.equal(result.totalRanks, 6);
  });
});

describe('Result', () => {
  test('defaults', () => {
    const result = new Result({ method: 'm' });
    assert.match(result.taskId, /^[0-9a-f-]{36}$/);
    assert.equal(result.topic, 'default');
    assert.equal(result.serializationMethod, 'json');
    assert.equal(result.keepInputs, true);
    assert.deepEqual(result.taskInfo, {});
    assert.equal(result.maxRetries, 0);
    assert.equal(result.retries, 0);
    assert.equal(result.success, null);
    assert.equal(result.complete, null);
    assert.deepEqual(result.inputs, [[], {}]);
    assert.ok(Number.isNaN(result.timestamp.created));
    assert.notEqual(new Result({ method: 'm' }).taskId, result.taskId);
  });

  test('create stamps creation time and input encoding time', () => {
    const before = Date.now() / 1000;
    const result = Result.create({ method: 'add', args: [1, 2], kwargs: { c: 3 } });
    const after = Date.now() / 1000;
    assert.ok(result.timestamp.created >= before - 0.01 && result.timestamp.created <= after + 0.01);
    assert.ok(result.time.serializeInputs >= 0);
    assert.deepEqual(result.inputs, [['1', '2'], { c: '3' }]);
    assert.deepEqual(result.args, [1, 2]);
    assert.deepEqual(result.kwargs, { c: 3 });
  });

  test('decodeValue decodes once received, and leaves a null value alone', () => {
    const result = Result.create({ method: 'm' });
    result.decodeValue();
    assert.equal(result.value, undefined);
    assert.ok(Number.isNaN(result.time.deserializeResults));
    result.encodedValue = encodeValue('json', { ok: true });
    result.decodeValue();
    assert.deepEqual(result.value, { ok: true });
    assert.ok(result.time.deserializeResults >= 0);
  });

  test('fail records the failure and drops any value', () => {
    const result = Result.create({ method: 'm' });
    result.encodedValue = '3';
    result.value = 3;
    result.fail(failureFromError(new RangeError('nope')));
    assert.equal(result.success, false);
    assert.equal(result.complete, true);
    assert.equal(result.encodedValue, null);
    assert.equal(result.value, undefined);
    assert.equal(result.failureInfo?.name, 'RangeError');
    assert.equal(result.failureInfo?.reason, 'error');
    result.fail({ name: 'Error', message: 'unknown', stack: '' }, null);
    assert.equal(result.complete, null);
  });

  test('failureFromError handles thrown non-errors', () => {
    assert.deepEqual(failureFromError('text'), { name: 'Error', message: 'text', stack: 'thrown value (not an Error): text', reason: 'error' });
    assert.equal(failureFromError({ code: 1 }).message, '{"code":1}');
    const loop: Record<string, unknown> = {};
    loop.loop = loop;
    assert.equal(failureFromError(loop).message, '[object Object]');
    assert.equal(failureFromError(undefined, 'timeout').reason, 'timeout');
  });

  test('applyKeepInputs drops inputs only when asked', () => {
    const kept = Result.create({ method: 'm', args: [1] });
    kept.applyKeepInputs();
    assert.deepEqual(kept.inputs, [['1'], {}]);
    const dropped = Result.create({ method: 'm', args: [1], keepInputs: false });
    dropped.applyKeepInputs();
    assert.deepEqual(dropped.inputs, [[], {}]);
  });

  test('cloneRequest copies identity and timings without sharing mutable timing records', () => {
    const original = Result.create({ method: 'stream', topic: 'sim', args: [1], maxRetries: 2, resources: { nodeCount: 2 } });
    original.retries = 1;
    original.time.additional.x = 1;
    const copy = original.cloneRequest();
    assert.equal(copy.taskId, original.taskId);
    assert.equal(copy.topic, 'sim');
    assert.equal(copy.maxRetries, 2);
    assert.equal(copy.retries, 1);
    assert.equal(copy.totalRanks, 2);
    assert.deepEqual(copy.inputs, original.inputs);
    assert.equal(copy.success, null);
    copy.timestamp.computeStarted = 5;
    copy.time.additional.x = 2;
    copy.time.running = 1;
    assert.ok(Number.isNaN(original.timestamp.computeStarted));
    assert.equal(original.time.additional.x, 1);
    assert.ok(Number.isNaN(original.time.running));
  });
});
