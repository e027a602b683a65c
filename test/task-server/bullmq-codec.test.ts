/**
 * The BullMQ job codec carries the whole worker envelope through JSON (what Redis stores): every
 * field of a payload and a reply comes back, new ones included, and a job of another format or a
 * malformed one is refused naming what is wrong.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TaskPayload, TaskReply } from '../../src/methods/envelope.js';
import { decodeJobData, decodeJobProgress, decodeJobReturn, encodeJobData, encodeJobProgress, encodeJobReturn } from '../../src/task-server/bullmq/codec.js';

/** What BullMQ does to job data and return values: a JSON round trip. */
const throughRedis = <T>(value: T): unknown => JSON.parse(JSON.stringify(value));

describe('BullMQ job codec', () => {
  it('round-trips every payload field, msgpack bytes and fields it does not know of', () => {
    const payload = {
      method: 'simulate',
      serializationMethod: 'msgpack',
      inputs: [[Buffer.from([1, 2, 3]), '\u0000colmena-proxy:{"storeId":"s"}'], { scale: Buffer.from([4]) }],
      resources: { cpuProcesses: 1, nodeCount: 2, cpuThreads: 1, ranksPerNode: 4, gpus: 0 },
      generator: 'stream',
      valueProxy: { storeId: 'shared-redis', thresholdBytes: 1000 },
      futureField: { nested: [1, 2, { deep: true }] },
    } as unknown as TaskPayload;
    const { exportName, payload: decoded } = decodeJobData(throughRedis(encodeJobData(payload, 'simulateExport')));
    assert.equal(exportName, 'simulateExport');
    assert.deepEqual(decoded, payload);
  });

  it('round-trips a reply with NaN timings, proxy timings and asyncResolveProxies', () => {
    const reply: TaskReply = {
      success: true,
      encodedValue: '"\u0000colmena-proxy:{}"',
      failure: null,
      workerInfo: { hostname: 'node7', pid: 42, workerId: 'thread-1' },
      computeStarted: 1.5,
      computeEnded: 2.5,
      running: 1,
      deserializeInputs: Number.NaN,
      serializeResults: 0.001,
      additional: { exec: Number.POSITIVE_INFINITY },
      asyncResolveProxies: 0.002,
      proxy: { 'key-1': { bytes: 50_000, get: 0.001 }, 'key-2': { bytes: 50_000, put: 0.002 } },
    };
    assert.deepEqual(decodeJobReturn(throughRedis(encodeJobReturn(reply))), reply);
    const item = { encodedValue: Buffer.from([9]), running: 0.1, serializeResults: Number.NaN, topic: 'stream' };
    assert.deepEqual(decodeJobProgress(throughRedis(encodeJobProgress(item))), item);
  });

  it('refuses a job of another format and a malformed one, naming what is wrong', () => {
    assert.throws(
      () => decodeJobData({ format: 1, method: 'add', serializationMethod: 'json', args: [], kwargs: {} }),
      /has format 1, but this colmena reads formats 2 and 3\. Run the same colmena release/,
    );
    const good = encodeJobData({ method: 'add', serializationMethod: 'json', inputs: [['1'], {}] }, 'add');
    assert.throws(() => decodeJobData({ ...good, payload: { ...(good.payload as object), inputs: 'nope' } }), /'inputs' must be \[encoded args, encoded kwargs\]/);
    assert.throws(() => decodeJobData({ ...good, exportName: '' }), /'exportName' must be the name of an export/);
    assert.throws(() => decodeJobData({ ...good, taskId: 7 }), /'taskId' must be a string/);
    assert.throws(() => decodeJobData({ ...good, payload: { ...(good.payload as object), timeoutMs: -1 } }), /'timeoutMs' must be a number of milliseconds/);
    assert.throws(() => decodeJobData({ ...good, payload: { ...(good.payload as object), timeoutMs: '600' } }), /'timeoutMs' must be a number of milliseconds/);
    assert.throws(() => decodeJobReturn({ format: 2, reply: { success: 'yes' } }), /'success' must be a boolean/);
    assert.throws(
      () => encodeJobData({ method: 'add', serializationMethod: 'pickle', inputs: [[], {}] }, 'add'),
      /uses pickle serialization, which cannot be sent to a colmena worker/,
    );
  });

  it("carries the task's timeout and id to the worker (format 3), and still reads an older server's format-2 job", () => {
    const payload: TaskPayload = { method: 'add', serializationMethod: 'json', inputs: [['1'], {}], timeoutMs: 3e9 };
    const job = throughRedis(encodeJobData(payload, 'add', 'task-7'));
    assert.equal((job as { format: number }).format, 3);
    assert.deepEqual(decodeJobData(job), { format: 3, exportName: 'add', taskId: 'task-7', payload });
    // An older task server times its tasks itself: its job carries no timeout, and its reply must be in its format.
    const old = { format: 2, exportName: 'add', payload: { method: 'add', serializationMethod: 'json', inputs: [['1'], {}] } };
    const decoded = decodeJobData(old);
    assert.equal(decoded.format, 2);
    assert.equal(decoded.payload.timeoutMs, undefined);
    const reply: TaskReply = {
      success: true,
      encodedValue: '1',
      failure: null,
      workerInfo: { hostname: 'h', pid: 1, workerId: 'w' },
      computeStarted: 1,
      computeEnded: 2,
      running: 1,
      deserializeInputs: 0,
      serializeResults: 0,
    };
    const answer = throughRedis(encodeJobReturn(reply, decoded.format)) as { format: number };
    assert.equal(answer.format, 2);
    assert.deepEqual(decodeJobReturn(answer), reply);
  });
});
