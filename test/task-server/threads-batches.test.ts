/**
 * The threads executor queues `depth` tasks on each worker thread: what that must not change.
 * A task's timeout counts from when it starts on its thread; a task cancelled while queued never
 * starts; a thread ended mid-batch (a stopped task, a method calling process.exit) costs only the
 * task it was running, and every other task of its batch runs once, elsewhere; close() settles
 * every task in hand. Real threads, on methods written for this file (each start is logged).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { TaskStop } from '../../src/common/stop-signal.js';
import type { IntermediateReply, TaskPayload, TaskReply } from '../../src/methods/envelope.js';
import { moduleMethod } from '../../src/methods/spec.js';
import { decodeValue, encodeInputs } from '../../src/models/serialization.js';
import { ThreadsExecutor } from '../../src/task-server/executors/threads.js';
import { until, untilAsync } from '../helpers/until.js';

/** Each method logs its start (one line: its name) before it does anything else. */
const METHODS = `
import { appendFileSync } from 'node:fs';
const nap = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export async function sleep(log, name, ms) { appendFileSync(log, name + '\\n'); await nap(ms); return name; }
export function spin(log, name, ms) { appendFileSync(log, name + '\\n'); const end = Date.now() + ms; while (Date.now() < end); return name; }
export async function exitSoon(log, name, ms) { appendFileSync(log, name + '\\n'); await nap(ms); process.exit(3); }
export async function* count(log, name, n) { appendFileSync(log, name + '\\n'); for (let i = 1; i <= n; i++) { await nap(5); yield i; } return 'counted'; }
`;

let dir: string;
let methodsUrl: URL;
let logCount = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'colmena-threads-'));
  await writeFile(join(dir, 'methods.mjs'), METHODS);
  methodsUrl = pathToFileURL(join(dir, 'methods.mjs'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A fresh start log, and what it says: each method's name, once per start. */
function startLog() {
  const path = join(dir, `starts-${logCount++}.log`);
  const read = async (): Promise<string[]> => (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  return { path, read };
}

interface CallOptions {
  timeoutMs?: number;
  signal?: TaskStop;
  onIntermediate?: (item: IntermediateReply) => void;
}

/** Run `method(log, name, arg)` on the executor, as a task server would hand it over. */
function call(executor: ThreadsExecutor, method: 'sleep' | 'spin' | 'exitSoon' | 'count', log: string, name: string, arg: number, options: CallOptions = {}) {
  const payload: TaskPayload = { method, serializationMethod: 'json', inputs: encodeInputs('json', [log, name, arg], {}) };
  if (options.timeoutMs !== undefined) payload.timeoutMs = options.timeoutMs;
  if (method === 'count') payload.generator = 'stream';
  const spec = moduleMethod(methodsUrl, method, method === 'count' ? { generator: 'stream' } : {});
  let settled = 0;
  const reply = executor.run(spec, payload, { signal: options.signal, onIntermediate: options.onIntermediate, taskId: name }).then((value) => {
    settled++;
    return value;
  });
  return { reply, settledCount: () => settled };
}

const valueOf = (reply: TaskReply): unknown => (reply.encodedValue === null ? null : decodeValue('json', reply.encodedValue));

describe('threads executor with tasks queued on each thread', () => {
  it('refuses a depth that is not a whole number of tasks, naming the option', () => {
    for (const depth of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new ThreadsExecutor('threads', { threads: 1, depth }), /depth must be a whole number of tasks per thread, at least 1/);
    }
    assert.throws(() => new ThreadsExecutor('threads', { threads: 1, queueTimeoutMs: 0 }), /queueTimeoutMs must be a positive number of milliseconds/);
  });

  it('declares threads × depth as its capacity and times its tasks itself', async () => {
    await using executor = new ThreadsExecutor('threads', { threads: 2, depth: 5 });
    assert.equal(executor.capacity, 10);
    assert.equal(executor.timesTasks, true);
  });

  it("counts a task's timeoutMs from when it starts on its thread, not while it waits there", async () => {
    await using executor = new ThreadsExecutor('threads', { threads: 1, depth: 4 });
    const log = startLog();
    const first = call(executor, 'sleep', log.path, 'first', 400);
    // Waits ~400 ms behind `first`, then runs 50 ms: over its 200 ms in all, well under it running.
    const behind = call(executor, 'sleep', log.path, 'behind', 50, { timeoutMs: 200 });
    // Also waits, then really runs past its timeout.
    const overrun = call(executor, 'sleep', log.path, 'overrun', 5_000, { timeoutMs: 200 });
    const [a, b, c] = await Promise.all([first.reply, behind.reply, overrun.reply]);
    assert.equal(a.success, true, a.failure?.message);
    assert.equal(b.success, true, b.failure?.message);
    assert.equal(valueOf(b), 'behind');
    assert.equal(c.success, false);
    assert.equal(c.failure?.reason, 'timeout');
    assert.match(c.failure?.message ?? '', /ran past its timeout of 200 ms/);
    assert.deepEqual(await log.read(), ['first', 'behind', 'overrun']);
  });

  it('runs every task handed over beyond its capacity, in hand-over order, as room comes free', async () => {
    // One slot: three of the four wait in the executor's own line, not on a thread.
    await using executor = new ThreadsExecutor('threads', { threads: 1, depth: 1 });
    const log = startLog();
    const names = ['a', 'b', 'c', 'd'];
    const calls = names.map((name) => call(executor, 'sleep', log.path, name, 20));
    assert.equal(executor.queued, 3);
    const replies = await Promise.all(calls.map(({ reply }) => reply));
    for (const reply of replies) assert.equal(reply.success, true, reply.failure?.message);
    assert.deepEqual(replies.map(valueOf), names);
    assert.deepEqual(await log.read(), names);
  });

  it('takes back a queued task that is cancelled: it answers at once and never starts', async () => {
    await using executor = new ThreadsExecutor('threads', { threads: 1, depth: 4 });
    const log = startLog();
    const running = call(executor, 'sleep', log.path, 'running', 600);
    const stop = new TaskStop();
    const cancelled = call(executor, 'sleep', log.path, 'cancelled', 10, { signal: stop });
    const next = call(executor, 'sleep', log.path, 'next', 10);
    await untilLogged(log, 'running');
    stop.abort(new Error('cancelled on purpose'));
    const reply = await cancelled.reply;
    assert.equal(running.settledCount(), 0, 'answered while the task ahead of it still runs');
    assert.equal(reply.success, false);
    assert.equal(reply.failure?.reason, 'cancelled');
    assert.ok(Number.isNaN(reply.computeStarted), 'it never started');
    assert.equal((await running.reply).success, true);
    assert.equal((await next.reply).success, true);
    assert.deepEqual(await log.read(), ['running', 'next']);
  });

  it('ends a queued task that waits past queueTimeoutMs as timed out, without starting it', async () => {
    await using executor = new ThreadsExecutor('threads', { threads: 1, depth: 4, queueTimeoutMs: 150 });
    const log = startLog();
    const running = call(executor, 'sleep', log.path, 'running', 600);
    const waiting = call(executor, 'sleep', log.path, 'waiting', 10);
    const reply = await waiting.reply;
    assert.equal(reply.failure?.reason, 'timeout');
    assert.match(reply.failure?.message ?? '', /queueTimeoutMs.*never started/);
    assert.equal((await running.reply).success, true, 'the running task is untouched');
    assert.deepEqual(await log.read(), ['running']);
  });

  for (const how of ['cancelled', 'timed out', 'exits (process.exit)'] as const) {
    it(`a thread ended mid-batch because its task ${how}: every other task of the batch runs once, successfully`, async () => {
      await using executor = new ThreadsExecutor('threads', { threads: 2, depth: 8 });
      const unavailable: number[] = [];
      executor.watchUnavailable((count) => unavailable.push(count));
      const log = startLog();
      const stop = new TaskStop();
      const ended =
        how === 'exits (process.exit)'
          ? call(executor, 'exitSoon', log.path, 'ended', 300)
          : call(executor, 'spin', log.path, 'ended', 60_000, how === 'cancelled' ? { signal: stop } : { timeoutMs: 300 });
      // Seven more: they alternate between the two threads, three queued behind `ended`.
      const others = Array.from({ length: 7 }, (_, i) => call(executor, 'sleep', log.path, `other-${i}`, 100));
      if (how === 'cancelled') {
        await untilLogged(log, 'ended');
        stop.abort(new Error('cancelled on purpose'));
      }
      const reply = await ended.reply;
      assert.equal(reply.success, false);
      assert.equal(reply.failure?.reason, { cancelled: 'cancelled', 'timed out': 'timeout', 'exits (process.exit)': 'worker-crashed' }[how]);
      for (const [i, other] of others.entries()) {
        const answer = await other.reply;
        assert.equal(answer.success, true, answer.failure?.message);
        assert.equal(valueOf(answer), `other-${i}`);
      }
      const starts = await log.read();
      assert.deepEqual([...starts].sort(), ['ended', ...others.map((_, i) => `other-${i}`)].sort(), 'each task started exactly once');
      for (const other of others) assert.equal(other.settledCount(), 1);
      // The ended thread's share of capacity was out of service until its replacement was up.
      await until(() => unavailable.at(-1) === 0, 'the replacement thread up');
      assert.ok(unavailable.includes(8), `depth (8) reported unavailable meanwhile, got ${JSON.stringify(unavailable)}`);
      const later = await call(executor, 'sleep', log.path, 'later', 1).reply;
      assert.equal(later.success, true, later.failure?.message);
    });
  }

  it('keeps the reply of a task that ended just before its thread was stopped for the next one', async () => {
    await using executor = new ThreadsExecutor('threads', { threads: 1, depth: 4 });
    const log = startLog();
    // Warm the thread up, so the two below reach it in one batch and run back to back.
    assert.equal((await call(executor, 'spin', log.path, 'warm-up', 0).reply).success, true);
    const quick = call(executor, 'spin', log.path, 'quick', 0);
    // Blocks its thread at once: the thread cannot say that `quick` ended until it is stopped.
    const stuck = call(executor, 'spin', log.path, 'stuck', 60_000, { timeoutMs: 300 });
    const [quickReply, stuckReply] = await Promise.all([quick.reply, stuck.reply]);
    assert.equal(quickReply.success, true, quickReply.failure?.message);
    assert.equal(valueOf(quickReply), 'quick');
    assert.equal(stuckReply.failure?.reason, 'timeout');
    assert.deepEqual(await log.read(), ['warm-up', 'quick', 'stuck']);
  });

  it('moves tasks queued behind a long one to a thread that ran out of work', async () => {
    await using executor = new ThreadsExecutor('threads', { threads: 2, depth: 8 });
    const log = startLog();
    const finished: string[] = [];
    const track = (task: ReturnType<typeof call>, name: string) => task.reply.then((reply) => (finished.push(name), reply));
    const long = track(call(executor, 'sleep', log.path, 'long', 1_500), 'long');
    // They alternate between the threads: three queue behind `long`.
    const short = Array.from({ length: 6 }, (_, i) => track(call(executor, 'sleep', log.path, `short-${i}`, 50), `short-${i}`));
    for (const reply of await Promise.all([long, ...short])) assert.equal(reply.success, true, reply.failure?.message);
    assert.ok(finished.indexOf('long') >= 5, `at least five short tasks end before the long one: ${finished.join(', ')}`);
    assert.deepEqual((await log.read()).sort(), ['long', ...short.map((_, i) => `short-${i}`)].sort(), 'each started once');
  });

  it('streams the yields of a queued generator in order, all before its final reply', async () => {
    await using executor = new ThreadsExecutor('threads', { threads: 1, depth: 4 });
    const log = startLog();
    const seen: unknown[] = [];
    const ahead = call(executor, 'sleep', log.path, 'ahead', 100);
    const stream = call(executor, 'count', log.path, 'count', 5, {
      onIntermediate: (item) => seen.push(decodeValue('json', item.encodedValue)),
    });
    const reply = await stream.reply;
    assert.equal(reply.success, true, reply.failure?.message);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(valueOf(reply), 'counted');
    assert.equal((await ahead.reply).success, true);
  });

  it('close() with tasks running and queued settles every one of them with a failed reply', async () => {
    const executor = new ThreadsExecutor('threads', { threads: 2, depth: 4 });
    const log = startLog();
    const tasks = Array.from({ length: 8 }, (_, i) => call(executor, i % 2 ? 'spin' : 'sleep', log.path, `task-${i}`, 60_000));
    // Beyond capacity: waits in the executor for room on a thread.
    const beyond = call(executor, 'sleep', log.path, 'beyond', 1);
    await untilLogged(log, 'task-1');
    assert.equal(executor.queued, 1);
    await executor.close();
    for (const task of [...tasks, beyond]) {
      const reply = await task.reply;
      assert.equal(reply.success, false);
      assert.match(reply.failure?.message ?? '', /was closed before the task finished/);
      assert.equal(task.settledCount(), 1);
    }
    const afterClose = await call(executor, 'sleep', log.path, 'after-close', 1).reply;
    assert.equal(afterClose.success, false);
  });
});

function untilLogged(log: { read: () => Promise<string[]> }, name: string): Promise<void> {
  return untilAsync(async () => (await log.read()).includes(name), `${name} to start`);
}
