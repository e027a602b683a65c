/** The complete record (inputs and values in run-log task lines), reading it back, and the pieces of resuming. */
import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { stopAtWalltime, Walltime } from '../../src/common/deadline.js';
import { InvalidArgumentError, InvalidStateError, ThinkerDefinitionError, UnknownTopicError } from '../../src/common/errors.js';
import { inlineMethod } from '../../src/methods/spec.js';
import { Result } from '../../src/models/result.js';
import { readCampaignRecord } from '../../src/monitor/run-log/campaign-record.js';
import { readRunLog } from '../../src/monitor/run-log/reader.js';
import { RunLog } from '../../src/monitor/run-log/run-log.js';
import { nonFiniteToNull } from '../../src/monitor/run-log/strict-json.js';
import type { ColmenaQueues } from '../../src/queue/base.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { BaseThinker, resultProcessor } from '../../src/thinker/index.js';
import { tempFolder } from '../monitor/helpers.js';

type Methods = { scale: (values: Uint8Array | number[], factor: number) => Uint8Array | number[] };
const scale = inlineMethod((values: Uint8Array | number[], factor: number) =>
  values instanceof Uint8Array ? values.map((v) => v * factor) : values.map((v) => v * factor),
);

async function recordCampaign(path: string, serializationMethod: 'json' | 'msgpack', inputs: (Uint8Array | number[])[]): Promise<Result[]> {
  const queues = new LocalQueues<Methods>({ serializationMethod });
  const server = new LocalTaskServer(queues as unknown as ColmenaQueues, { methods: { scale } }).start();
  const log = await RunLog.open(path, { tasks: true });
  log.attachQueues(queues);
  const results: Result[] = [];
  for (const values of inputs) await queues.sendInputs('scale', [values, 2], { taskInfo: { note: 'NaN "quoted"' } });
  for (let i = 0; i < inputs.length; i++) results.push(await queues.getResult());
  await queues.sendKillSignal();
  await server.join();
  await queues.close();
  await log.close();
  return results;
}

for (const serializationMethod of ['json', 'msgpack'] as const) {
  test(`a ${serializationMethod} campaign's record holds every task's inputs and value, and reads back as strict JSON`, async () => {
    await using folder = await tempFolder();
    const { dir } = folder;
    const path = join(dir, 'run.jsonl');
    const inputs = serializationMethod === 'msgpack' ? [new Uint8Array([1, 2, 3]), new Uint8Array([200, 7])] : [[1, 2, 3], [0.5]];
    const taken = await recordCampaign(path, serializationMethod, inputs);
    const parsed = await readRunLog(path);
    assert.deepEqual(parsed.problems, [], 'every line, task lines included, is valid');
    assert.equal(parsed.records.filter((r) => r.type === 'task').length, 2 * inputs.length);

    const record = await readCampaignRecord(path);
    assert.deepEqual(record.problems, []);
    assert.equal(record.inFlight.length, 0);
    assert.deepEqual(record.completed.map((r) => r.taskId), taken.map((r) => r.taskId));
    for (const [i, result] of record.completed.entries()) {
      result.decodeValue();
      assert.equal(result.success, true);
      assert.equal(result.method, 'scale');
      assert.deepEqual(result.taskInfo, { note: 'NaN "quoted"' });
      assert.deepEqual(result.value, taken[i]!.value);
      assert.deepEqual(result.args, [inputs[i], 2]);
      if (serializationMethod === 'msgpack') assert.ok(result.value instanceof Uint8Array, 'binary values stay binary');
      assert.ok(Number.isNaN(result.timestamp.taskReceived) || typeof result.timestamp.taskReceived === 'number');
      assert.equal(result.timestamp.created, taken[i]!.timestamp.created);
    }
  });
}

test('a task sent without a result is in flight; a half-written last line is a problem, not a failure', async () => {
  await using folder = await tempFolder();
  const { dir } = folder;
  const path = join(dir, 'run.jsonl');
  const queues = new LocalQueues<Methods>();
  const log = await RunLog.open(path, { tasks: true });
  log.attachQueues(queues);
  const id = await queues.sendInputs('scale', [[4], 3], { maxRetries: 2, resources: { cpuProcesses: 4 } });
  await log.close();
  await appendFile(path, '{"type":"task","t":1,"stage":"result","taskId":"x","colmena":{"task_');
  const record = await readCampaignRecord(path);
  assert.deepEqual(record.inFlight.map((t) => t.taskId), [id]);
  const [task] = record.inFlight;
  assert.deepEqual(task!.args, [[4], 3]);
  assert.equal(task!.maxRetries, 2);
  assert.equal(task!.resources.cpuProcesses, 4);
  assert.equal(record.problems.length, 1);
  await queues.close();
});

test('a run log without task lines cannot be resumed from, and says which option to turn on', async () => {
  await using folder = await tempFolder();
  const { dir } = folder;
  const path = join(dir, 'run.jsonl');
  const log = await RunLog.open(path);
  log.recordValue('best', 1);
  await log.close();
  await assert.rejects(readCampaignRecord(path), (error: unknown) => error instanceof InvalidArgumentError && /tasks: true/.test(error.message));
});

test('NaN and Infinity become null outside strings only', () => {
  assert.equal(nonFiniteToNull('{"a": NaN, "b": "NaN \\" Infinity\\\\", "c": -Infinity, "d": [Infinity]}'), '{"a": null, "b": "NaN \\" Infinity\\\\", "c": null, "d": [null]}');
  assert.equal(nonFiniteToNull('{"a": 1}'), '{"a": 1}');
});

test('adoptTasks: a result for a claimed id is accepted once and retires it; unknown topics are refused', async () => {
  const queues = new LocalQueues({ topics: ['sim'] });
  assert.throws(() => queues.adoptTasks([{ taskId: 'a', topic: 'nope' }]), UnknownTopicError);
  queues.adoptTasks([{ taskId: 'old-task', topic: 'sim' }]);
  assert.equal(queues.activeCount('sim'), 1);
  const result = new Result({ taskId: 'old-task', method: 'scale', topic: 'sim' });
  result.success = true;
  result.complete = true;
  result.encodedValue = '42';
  await queues.sendResult(result);
  const taken = await queues.getResult('sim');
  assert.equal(taken.value, 42);
  assert.equal(queues.activeCount('sim'), 0);
  await queues.close();
});

class Plain extends BaseThinker {
  @resultProcessor()
  take(_result: Result): void {}
}

test('resume() needs a replayResult override, a new thinker, and refuses start() meanwhile', async () => {
  const queues = new LocalQueues();
  const done = new Result({ taskId: 't1', method: 'scale' });
  await assert.rejects(new Plain(queues).resume({ completed: [done], inFlight: [] }), (error: unknown) => error instanceof ThinkerDefinitionError && /replayResult/.test(error.message));
  class Replaying extends Plain {
    replayed: string[] = [];
    protected override async replayResult(result: Result): Promise<void> {
      this.replayed.push(result.taskId);
      assert.throws(() => this.start(), InvalidStateError);
    }
  }
  const thinker = new Replaying(queues);
  const resumed = thinker.events.on('resumed', (summary) => assert.equal(summary.replayed, 1));
  await thinker.resume({ completed: [done], inFlight: [] });
  resumed();
  assert.deepEqual(thinker.replayed, ['t1']);
  assert.equal(thinker.state, 'running');
  await assert.rejects(thinker.resume({ completed: [], inFlight: [] }), InvalidStateError);
  await assert.rejects(new Replaying(queues).resume({ completed: [], inFlight: [] }, { inFlight: 'later' as never }), InvalidArgumentError);
  thinker.done.set();
  await thinker.join();
  await queues.close();
});

test('Walltime: a deadline or a signal aborts, once, saying why; dispose gives the signal back', async () => {
  const past = new Walltime({ deadline: Date.now() - 1, signals: [] });
  await new Promise((resolve) => past.signal.addEventListener('abort', resolve, { once: true }));
  assert.equal(past.reason?.kind, 'deadline');
  past.dispose();

  const before = process.listenerCount('SIGUSR2');
  const signalled = new Walltime({ signals: ['SIGUSR2'] });
  assert.equal(process.listenerCount('SIGUSR2'), before + 1);
  process.emit('SIGUSR2', 'SIGUSR2');
  assert.deepEqual(signalled.reason, { kind: 'signal', signal: 'SIGUSR2' });
  assert.ok(signalled.signal.aborted);
  signalled.dispose();
  assert.equal(process.listenerCount('SIGUSR2'), before);

  assert.throws(() => new Walltime({ marginMs: -1 }), InvalidArgumentError);
  assert.throws(() => new Walltime({ deadline: Number.NaN }), InvalidArgumentError);
  assert.throws(() => new Walltime({ signals: ['TERM' as NodeJS.Signals] }), InvalidArgumentError);
});

test('stopAtWalltime stops a task server: it finishes the task in hand and leaves the requests it has not taken', async () => {
  const queues = new LocalQueues<{ wait: (ms: number) => number }>();
  let release: () => void = () => {};
  const started = new Promise<void>((resolve) => (release = resolve));
  const wait = inlineMethod(async (ms: number) => {
    release();
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  });
  const server = new LocalTaskServer(queues as unknown as ColmenaQueues, { methods: { wait } }).start();
  const walltime = new Walltime({ signals: ['SIGUSR2'] });
  stopAtWalltime(walltime, () => server.stop());
  await queues.sendInputs('wait', [20]);
  await started;
  process.emit('SIGUSR2', 'SIGUSR2');
  await queues.sendInputs('wait', [20]);
  await server.join();
  walltime.dispose();
  const result = await queues.getResult();
  assert.equal(result.success, true, 'the task in hand finished');
  assert.equal(queues.pendingRequests, 1, 'the request sent after the walltime is left for the next job');
  await queues.close();
});

test('requests in flight are read back from a record larger than one read chunk', async () => {
  await using folder = await tempFolder();
  const { dir } = folder;
  const path = join(dir, 'run.jsonl');
  const queues = new LocalQueues<Methods>();
  const log = await RunLog.open(path, { tasks: true, flushChars: 1 << 16 });
  log.attachQueues(queues);
  const ids: string[] = [];
  // About 3 MB of requests, so lines straddle the reader's 1 MiB chunks.
  for (let i = 0; i < 600; i++) ids.push(await queues.sendInputs('scale', [Array.from({ length: 500 }, (_, k) => i + k), i]));
  await log.close();
  const record = await readCampaignRecord(path);
  assert.deepEqual(record.problems, []);
  assert.deepEqual(record.inFlight.map((t) => t.taskId), ids);
  for (const [i, task] of record.inFlight.entries()) assert.equal(task.args[1], i);
  await queues.close();
});
