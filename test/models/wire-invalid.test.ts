import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidMessageError } from '../../src/common/errors.js';
import { Result } from '../../src/models/result.js';
import {
  decodeWireMessage,
  encodeWireMessage,
  isKillSignal,
  readIdentity,
  splitRequestElement,
} from '../../src/models/wire.js';
import { readVector, requestBody } from './vectors.js';

/** Assert that decoding fails with an InvalidMessageError whose message names every given field. */
function assertInvalid(body: string, ...fields: string[]): InvalidMessageError {
  let caught: unknown;
  try {
    decodeWireMessage(body);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof InvalidMessageError, `expected InvalidMessageError, got ${String(caught)}`);
  assert.equal(caught.code, 'INVALID_MESSAGE');
  for (const field of fields) {
    assert.ok(caught.message.includes(`${field}: `), `message should name "${field}": ${caught.message}`);
  }
  return caught;
}

const pythonRequest = requestBody('request_json_add_kwargs_sim_taskinfo_resources').body;
const pythonResult = readVector('result_json_add');

describe('malformed bodies', () => {
  test('wrong field types are each named', () => {
    const body = JSON.stringify({
      task_id: 't1',
      method: 5,
      success: 'yes',
      complete: 1,
      task_info: [],
      resources: { node_count: 0, cpu_processes: 1.5, cpu_threads: '2' },
      keep_inputs: 'no',
      serialization_method: 'yaml',
      max_retries: -1,
      retries: 0.5,
      topic: 7,
      message_sizes: { inputs: 'big' },
    });
    const error = assertInvalid(
      body,
      'method',
      'success',
      'complete',
      'task_info',
      'resources.node_count',
      'resources.cpu_processes',
      'resources.cpu_threads',
      'keep_inputs',
      'serialization_method',
      'max_retries',
      'retries',
      'topic',
      'message_sizes.inputs',
    );
    assert.match(error.message, /^Invalid Colmena message: /);
  });

  test('null where a float belongs is refused and named (it crashes Python 0.6)', () => {
    for (const field of ['created', 'input_received', 'compute_started', 'result_received', 'task_received']) {
      const body = pythonResult.replace(new RegExp(`"${field}": [^,}]+`), `"${field}": null`);
      assert.notEqual(body, pythonResult);
      const error = assertInvalid(body, `timestamp.${field}`);
      assert.match(error.message, /expected a number/);
    }
    for (const field of ['running', 'serialize_inputs', 'deserialize_results']) {
      const body = pythonResult.replace(new RegExp(`"${field}": [^,}]+`), `"${field}": null`);
      assertInvalid(body, `time.${field}`);
    }
    assertInvalid(pythonResult.replace('"additional": {}', '"additional": {"exec_execution": null}'), 'time.additional.exec_execution');
    assertInvalid(pythonResult.replace('"created": 1795787659.051485', '"created": "yesterday"'), 'timestamp.created');
  });

  test('several bad fields are all reported in one error', () => {
    const body = pythonResult
      .replace('"created": 1795787659.051485', '"created": null')
      .replace('"running": 1.2820000847568735e-06', '"running": null')
      .replace('"keep_inputs": true', '"keep_inputs": null');
    assertInvalid(body, 'timestamp.created', 'time.running', 'keep_inputs');
  });

  test('a missing or empty task_id is refused', () => {
    const parsed = JSON.parse(JSON.stringify({ method: 'add', topic: 'default' }));
    assertInvalid(JSON.stringify(parsed), 'task_id');
    assertInvalid(pythonRequest.replace(/"task_id": "[^"]*", /, ''), 'task_id');
    assertInvalid(pythonRequest.replace(/"task_id": "[^"]*"/, '"task_id": ""'), 'task_id');
    assertInvalid(pythonRequest.replace(/"task_id": "[^"]*"/, '"task_id": 17'), 'task_id');
  });

  test('a missing method is refused', () => {
    assertInvalid(pythonRequest.replace('"method": "add", ', ''), 'method');
  });

  test('inputs of the wrong shape are refused', () => {
    // The last "inputs" key is the top-level one (message_sizes has one too).
    const withInputs = (text: string): string =>
      `${pythonRequest.slice(0, pythonRequest.lastIndexOf('"inputs": '))}"inputs": ${text}, "value": null}`;
    assert.deepEqual(decodeWireMessage(withInputs('[["1"], {}]')).args, [1]);
    assertInvalid(withInputs('["1", "2"]'), 'inputs.0', 'inputs.1');
    assertInvalid(withInputs('[["1"]]'), 'inputs');
    assertInvalid(withInputs('{"a": 1}'), 'inputs');
    assertInvalid(withInputs('[["1"], {}, 3]'), 'inputs');
  });

  test('malformed failure_info and worker_info are refused', () => {
    assertInvalid(pythonResult.replace('"failure_info": null', '"failure_info": {"exception": 5}'), 'failure_info.exception');
    assertInvalid(pythonResult.replace('"hostname": "vm"', '"hostname": 1'), 'worker_info.hostname');
    assertInvalid(pythonResult.replace('"failure_info": null', '"failure_info": "boom"'), 'failure_info');
  });

  test('a body that is not an object is refused', () => {
    for (const body of ['null', '[]', '42', '"text"']) {
      const error = assertInvalid(body, '(message)');
      assert.match(error.message, /Invalid Colmena message/);
    }
  });

  test('broken JSON is an InvalidMessageError with the parser error as cause', () => {
    for (const body of ['{"task_id": "abc", ', '', 'not json', pythonRequest.slice(0, -1), '{"a": nan}']) {
      let caught: unknown;
      try {
        decodeWireMessage(body);
      } catch (error) {
        caught = error;
      }
      assert.ok(caught instanceof InvalidMessageError, `for ${JSON.stringify(body)}`);
      assert.match(caught.message, /not valid JSON/);
      assert.ok(caught.cause instanceof SyntaxError);
    }
  });

  test('extra unknown fields and missing optional ones are accepted with defaults', () => {
    const r = decodeWireMessage('{"task_id": "t", "method": "m", "future_field": {"x": 1}}');
    assert.equal(r.topic, 'default');
    assert.equal(r.serializationMethod, 'json');
    assert.equal(r.keepInputs, true);
    assert.deepEqual(r.inputs, [[], {}]);
    assert.equal(r.encodedValue, null);
    assert.ok(Number.isNaN(r.timestamp.created));
    assert.deepEqual(r.resources.toJSON(), { nodeCount: 1, cpuProcesses: 1, cpuThreads: 1 });
    assert.deepEqual(r.taskInfo, {});
    // Null where Python may write it for optional fields.
    const nulls = decodeWireMessage(
      '{"task_id": "t", "method": "m", "task_info": null, "topic": null, "max_retries": null, "retries": null}',
    );
    assert.deepEqual(nulls.taskInfo, {});
    assert.equal(nulls.topic, 'default');
    assert.equal(nulls.maxRetries, 0);
    assert.equal(nulls.retries, 0);
  });

  test('non-string entries in json inputs pass through, like a Python worker', () => {
    const r = decodeWireMessage('{"task_id": "t", "method": "add", "inputs": [[1, 2, "3"], {"k": [true], "j": "\\"s\\""}]}');
    assert.deepEqual(r.args, [1, 2, 3]);
    assert.deepEqual(r.kwargs, { k: [true], j: 's' });
  });
});

describe('readIdentity', () => {
  test('reads a valid body', () => {
    assert.deepEqual(readIdentity(pythonRequest), {
      taskId: '1dac835d-03f8-4dc9-9535-010ace563fec',
      topic: 'sim',
      method: 'add',
    });
  });

  test('recovers task id and topic from a body with wrong field types', () => {
    const body = pythonRequest.replace('"method": "add"', '"method": 5').replace('"created": 1795787658.844984', '"created": null');
    assert.throws(() => decodeWireMessage(body), InvalidMessageError);
    assert.deepEqual(readIdentity(body), {
      taskId: '1dac835d-03f8-4dc9-9535-010ace563fec',
      topic: 'sim',
      method: 'unknown',
    });
  });

  test('a wrong-typed topic falls back to the hint, then to default', () => {
    const body = '{"task_id": "t1", "method": "m", "topic": 5}';
    assert.deepEqual(readIdentity(body, 'sim'), { taskId: 't1', topic: 'sim', method: 'm' });
    assert.deepEqual(readIdentity(body), { taskId: 't1', topic: 'default', method: 'm' });
  });

  test('recovers identity from broken JSON by pattern matching', () => {
    const broken = pythonRequest.slice(0, pythonRequest.lastIndexOf('"inputs"') + 12);
    assert.throws(() => decodeWireMessage(broken), /not valid JSON/);
    assert.deepEqual(readIdentity(broken), {
      taskId: '1dac835d-03f8-4dc9-9535-010ace563fec',
      topic: 'sim',
      method: 'add',
    });
  });

  test('broken JSON cut before the topic uses the element prefix as hint', () => {
    const broken = pythonRequest.slice(0, pythonRequest.indexOf('"timestamp"'));
    assert.deepEqual(readIdentity(broken, 'sim'), {
      taskId: '1dac835d-03f8-4dc9-9535-010ace563fec',
      topic: 'sim',
      method: 'add',
    });
    assert.equal(readIdentity(broken)?.topic, 'default');
  });

  test('pattern matching unescapes JSON string escapes', () => {
    const broken = '{"task_id": "id \\"7\\"", "method": "caf\\u00e9", "topic": "t\\u00f8pic", "inputs": [[';
    assert.deepEqual(readIdentity(broken), { taskId: 'id "7"', topic: 'tøpic', method: 'café' });
  });

  test('returns null when there is no usable task id', () => {
    assert.equal(readIdentity('{"method": "add", "topic": "sim"}'), null);
    assert.equal(readIdentity('{"task_id": "", "method": "add"}'), null);
    assert.equal(readIdentity('{"task_id": 17, "method": "add"}'), null);
    assert.equal(readIdentity('{"task_id": null}'), null);
    assert.equal(readIdentity('{"method": "add", "topic": "sim", '), null);
    assert.equal(readIdentity('garbage'), null);
    assert.equal(readIdentity(''), null);
    assert.equal(readIdentity('[1, 2]'), null);
    assert.equal(readIdentity('null'), null);
  });

  test('works on our own encoding', () => {
    const r = Result.create({ method: 'train', topic: 'ml', taskId: 'abc' });
    assert.deepEqual(readIdentity(encodeWireMessage(r)), { taskId: 'abc', topic: 'ml', method: 'train' });
  });
});

describe('request elements and the kill signal', () => {
  test('splitRequestElement splits at the first brace', () => {
    assert.deepEqual(splitRequestElement('sim{"a": "{b}"}'), { topic: 'sim', body: '{"a": "{b}"}' });
    assert.deepEqual(splitRequestElement('{"a": 1}'), { topic: '', body: '{"a": 1}' });
    assert.equal(splitRequestElement('no-body'), null);
    assert.equal(splitRequestElement(''), null);
  });

  test('isKillSignal follows Python: any element ending in null', () => {
    assert.equal(isKillSignal('defaultnull'), true);
    assert.equal(isKillSignal('simnull'), true);
    assert.equal(isKillSignal('null'), true);
    assert.equal(isKillSignal('default{"value": null}'), false);
    assert.equal(isKillSignal('default'), false);
  });
});
