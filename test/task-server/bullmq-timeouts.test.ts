/**
 * `timeoutMs` of a BullMQ task counts its running time on the worker, with real `colmena worker`
 * processes and a real redis-server: a job's wait in Redis for a free worker does not count; a task
 * that runs past its timeout is stopped on its worker (its process gone) and answered once as
 * timed out, and retried if the policy says so; a job cancelled while it waits is removed and
 * never runs.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { remoteMethod } from '../../src/methods/spec.js';
import type { Result } from '../../src/models/result.js';
import { LocalQueues } from '../../src/queue/local.js';
import { BullmqExecutor, type BullmqExecutorOptions } from '../../src/task-server/bullmq/executor.js';
import { LocalTaskServer, type LocalTaskServerOptions } from '../../src/task-server/local.js';
import type * as fixtures from '../fixtures/bullmq-timeout-methods.js';
import { redisFixture } from '../helpers/redis.js';
import { closerOf, workerSuite } from '../helpers/task-server.js';
import { untilAsync } from '../helpers/until.js';

process.env.COLMENA_LOG_LEVEL ??= 'error';

const METHODS = fileURLToPath(new URL('../fixtures/bullmq-timeout-methods.ts', import.meta.url));
const redis = redisFixture();
const methods = {
  sleep: remoteMethod<typeof fixtures.sleep>({ executor: 'cpu' }),
  sleepProgram: remoteMethod<(pidFile: string, seconds: number) => string>({ executor: 'cpu' }),
};
type M = { sleep: typeof fixtures.sleep; sleepProgram: (pidFile: string, seconds: number) => string };

/** A thinker's queues and a task server whose methods run on the `cpu` BullMQ queue of `prefix`. */
type ServerOptions = Omit<LocalTaskServerOptions<typeof methods>, 'methods'> & { executor?: BullmqExecutorOptions };

function taskServer(prefix: string, { executor, ...options }: ServerOptions = {}) {
  const queues = new LocalQueues<M>();
  const cpu = new BullmqExecutor('cpu', { ...executor, url: redis.url, prefix });
  const server = new LocalTaskServer(queues, { ...options, methods, executors: { cpu } }).start();
  return { queues, close: closerOf(queues, server) };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('BullMQ timeoutMs counts running time on the worker', () => {
  const { fleet, closers } = workerSuite(redis);

  /** One `colmena worker` of concurrency 1 on a fresh prefix, its task server, and a view of its queue. */
  async function oneWorker(options: ServerOptions = {}) {
    const prefix = redis.prefix();
    const server = taskServer(prefix, options);
    closers.push(server.close);
    const jobs = new Queue('cpu', { connection: { url: redis.url }, prefix });
    closers.push(() => jobs.close());
    const worker = await fleet.spawn({ url: redis.url, prefix, executor: 'cpu', methods: METHODS, concurrency: 1 });
    return { server, jobs, worker };
  }

  it('does not count the wait in Redis for a free worker: 4 tasks of 400 ms with timeoutMs 1000 on one worker all succeed', async () => {
    // 600 ms of headroom for each task's own run (a loaded machine's thread start included); the
    // last waits at least 1200 ms in Redis, past its timeout.
    const { server } = await oneWorker();
    const sent = await Promise.all([0, 1, 2, 3].map(() => server.queues.sendInputs('sleep', [400], { timeoutMs: 1000 })));
    const results: Result[] = [];
    for (let i = 0; i < 4; i++) results.push(await server.queues.getResult('default', { timeoutMs: 30_000 }));
    assert.deepEqual(results.map((result) => result.taskId).sort(), [...sent].sort());
    for (const result of results) assert.equal(result.success, true, result.failureInfo?.message);
    // One at a time: the last started only after the first three had run, so it waited past its timeout in Redis.
    const last = results.at(-1)!;
    assert.ok(last.timestamp.computeStarted - last.timestamp.inputReceived > 1.0, 'the last task waited less than its timeout in Redis');
  });

  it('holds a timeoutMs beyond what one timer can (3e9 ms) on the worker: the task runs to its end', async () => {
    const { server } = await oneWorker();
    await server.queues.sendInputs('sleep', [300], { timeoutMs: 3e9 });
    const result = await server.queues.getResult('default', { timeoutMs: 30_000 });
    assert.equal(result.success, true, result.failureInfo?.message);
    assert.equal(result.value, 300);
  });

  it('stops a task that runs past its timeout on the worker: its process is gone, one timed-out Result, the worker serves on', async () => {
    const { server, worker } = await oneWorker();
    const pidFile = join(tmpdir(), `colmena-timeout-${randomUUID()}.pid`);
    closers.push(() => rm(pidFile, { force: true }));
    const id = await server.queues.sendInputs('sleepProgram', [pidFile, 60], { timeoutMs: 1000 });
    const result = await server.queues.getResult('default', { timeoutMs: 30_000 });
    assert.equal(result.taskId, id);
    assert.equal(result.success, false);
    assert.equal(result.failureInfo?.reason, 'timeout');
    assert.match(result.failureInfo?.message ?? '', new RegExp(`Task ${id} ran past its timeout of 1000 ms`));
    // Timed on the worker, which answered; not by the task server.
    assert.equal(result.workerInfo?.pid, worker.pid);
    const pid = Number(await readFile(pidFile, 'utf8'));
    assert.ok(pid > 0);
    await untilAsync(async () => !processAlive(pid), `the task's process ${pid} to be gone`);
    assert.ok(worker.alive);
    await server.queues.sendInputs('sleep', [1], { timeoutMs: 5000 });
    assert.equal((await server.queues.getResult('default', { timeoutMs: 30_000 })).value, 1);
  });

  it('retries a task timed out on the worker when the policy retries timeouts', async () => {
    const { server } = await oneWorker({ retry: { retryReasons: ['timeout'], initialDelayMs: 1 } });
    await server.queues.sendInputs('sleep', [60_000], { timeoutMs: 200, maxRetries: 2 });
    const result = await server.queues.getResult('default', { timeoutMs: 30_000 });
    assert.equal(result.failureInfo?.reason, 'timeout');
    assert.equal(result.retries, 2);
    assert.deepEqual(
      result.failedAttempts.map((attempt) => attempt.failure.reason),
      ['timeout', 'timeout'],
    );
  });

  it('removes the job of a task cancelled while it waits for the busy worker; it never runs', async () => {
    const { server, jobs } = await oneWorker();
    const running = await server.queues.sendInputs('sleep', [1500], { timeoutMs: 10_000 });
    await untilAsync(async () => (await jobs.getActiveCount()) === 1, 'the first job to be running');
    const waiting = await server.queues.sendInputs('sleep', [1], { timeoutMs: 10_000 });
    await untilAsync(async () => (await jobs.getWaitingCount()) === 1, 'the second job to be waiting');
    assert.equal(await server.queues.cancel(waiting), true);
    const cancelled = await server.queues.getResult('default', { timeoutMs: 30_000 });
    assert.equal(cancelled.taskId, waiting);
    assert.equal(cancelled.failureInfo?.reason, 'cancelled');
    await untilAsync(async () => (await jobs.getWaitingCount()) === 0, 'the cancelled job to be removed');
    const finished = await server.queues.getResult('default', { timeoutMs: 30_000 });
    assert.equal(finished.taskId, running);
    assert.equal(finished.success, true, finished.failureInfo?.message);
    // Finished jobs are kept (keepFinishedJobsSeconds): had the cancelled one run, it would be there.
    assert.equal(await jobs.getJob(`task-${waiting}-0`), undefined);
    assert.equal(await jobs.getCompletedCount(), 1);
  });

  it("with the executor's queueTimeoutMs, ends a job still waiting past it as timed out and removes it; a started one runs on", async () => {
    const { server, jobs } = await oneWorker({ executor: { queueTimeoutMs: 1000 } });
    const started = await server.queues.sendInputs('sleep', [2500], { timeoutMs: 10_000 });
    await untilAsync(async () => (await jobs.getActiveCount()) === 1, 'the first job to be running');
    const waiting = await server.queues.sendInputs('sleep', [1], { timeoutMs: 10_000 });
    const expired = await server.queues.getResult('default', { timeoutMs: 30_000 });
    assert.equal(expired.taskId, waiting);
    assert.equal(expired.failureInfo?.reason, 'timeout');
    assert.match(expired.failureInfo?.message ?? '', /Timed out after 1000 ms waiting for a colmena worker to start the job of task 'sleep' .*it never started/);
    assert.equal(await jobs.getJob(`task-${waiting}-0`), undefined);
    const finished = await server.queues.getResult('default', { timeoutMs: 30_000 });
    assert.equal(finished.taskId, started);
    assert.equal(finished.success, true, finished.failureInfo?.message);
  });

  it('refuses a queueTimeoutMs that is not a positive number of milliseconds, naming the option', () => {
    for (const bad of [0, -1, Number.NaN, 1e15]) {
      assert.throws(() => new BullmqExecutor('cpu', { url: 'redis://127.0.0.1:1', queueTimeoutMs: bad }), /BullmqExecutor: queueTimeoutMs must be a positive number of milliseconds/);
    }
  });

  it("runs a format-2 job of an older task server (which times its tasks itself) and answers in that server's format", async () => {
    const { jobs } = await oneWorker();
    const events = new QueueEvents('cpu', { connection: { url: redis.url }, prefix: jobs.opts.prefix });
    closers.push(() => events.close());
    await events.waitUntilReady();
    const old = { format: 2, exportName: 'sleep', payload: { method: 'sleep', serializationMethod: 'json', inputs: [['5'], {}] } };
    const job = await jobs.add('sleep', old, { jobId: `old-${randomUUID()}` });
    const answer = (await job.waitUntilFinished(events, 30_000)) as { format: number; reply: { success: boolean; encodedValue: string } };
    assert.equal(answer.format, 2);
    assert.equal(answer.reply.success, true);
    assert.equal(answer.reply.encodedValue, '5');
  });

  it('still detects a worker killed mid-task: the job runs again on another worker, with its full timeout, and ends once', async () => {
    const prefix = redis.prefix();
    const server = taskServer(prefix);
    closers.push(server.close);
    const jobs = new Queue('cpu', { connection: { url: redis.url }, prefix });
    closers.push(() => jobs.close());
    const args = ['--lock-ms', '1000', '--stalled-interval-ms', '500'];
    const first = await fleet.spawn({ url: redis.url, prefix, executor: 'cpu', methods: METHODS, concurrency: 1, args });
    const id = await server.queues.sendInputs('sleep', [1500], { timeoutMs: 3000 });
    await untilAsync(async () => (await jobs.getActiveCount()) === 1, 'the job to be running');
    process.kill(first.pid, 'SIGKILL');
    assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' });
    const second = await fleet.spawn({ url: redis.url, prefix, executor: 'cpu', methods: METHODS, concurrency: 1, args });
    const result = await server.queues.getResult('default', { timeoutMs: 30_000 });
    assert.equal(result.taskId, id);
    assert.equal(result.success, true, result.failureInfo?.message);
    assert.equal(result.workerInfo?.pid, second.pid);
    assert.equal(result.retries, 0);
    await assert.rejects(server.queues.getResult('default', { timeoutMs: 500 }), /Timed out/);
  });
});
