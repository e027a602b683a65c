/**
 * `colmena worker` as real processes: graceful stop on SIGTERM, a task that keeps killing its
 * worker, clear refusals of bad command lines, and connecting with a password or over TLS.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { remoteMethod } from '../../src/methods/spec.js';
import { LocalQueues } from '../../src/queue/local.js';
import { BullmqExecutor, type BullmqExecutorOptions } from '../../src/task-server/bullmq/executor.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import type * as fixtures from '../fixtures/bullmq-methods.js';
import { type Certificates, type CustomRedis, makeCertificates, startCustomRedis } from '../fixtures/bullmq-redis.js';
import { WorkerFleet } from '../fixtures/bullmq-workers.js';
import { redisFixture } from '../helpers/redis.js';
import { closerOf, workerSuite } from '../helpers/task-server.js';
import { freePort } from '../helpers/redis-server.js';
import { until as untilTrue } from '../helpers/until.js';

process.env.COLMENA_LOG_LEVEL ??= 'error';

const redis = redisFixture();
const methods = {
  add: remoteMethod<typeof fixtures.add>({ executor: 'cpu' }),
  sleep: remoteMethod<typeof fixtures.sleep>({ executor: 'cpu' }),
  killWorker: remoteMethod<typeof fixtures.killWorker>({ executor: 'cpu' }),
};
type M = { [K in keyof typeof methods]: (typeof fixtures)[K] };

/** A thinker's queues and a task server whose methods run through a BullMQ executor. */
function taskServer(options: BullmqExecutorOptions) {
  const queues = new LocalQueues<M>();
  const server = new LocalTaskServer(queues, { methods, executors: { cpu: new BullmqExecutor('cpu', options) } }).start();
  return { queues, close: closerOf(queues, server) };
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setImmediate(resolve));
}

describe('colmena worker', () => {
  const { fleet, closers } = workerSuite(redis);

  it('finishes the tasks in hand on SIGTERM and exits; the queued ones wait for another worker', async () => {
    const prefix = redis.prefix();
    const server = taskServer({ url: redis.url, prefix });
    closers.push(server.close);
    const jobs = new Queue('cpu', { connection: { url: redis.url }, prefix });
    closers.push(() => jobs.close());
    const first = await fleet.spawn({ url: redis.url, prefix, executor: 'cpu', concurrency: 2 });
    for (let i = 0; i < 3; i++) await server.queues.sendInputs('sleep', [500]);
    await until(async () => (await jobs.getActiveCount()) === 2);
    first.child.kill('SIGTERM');
    assert.deepEqual(await first.exited, { code: 0, signal: null });
    assert.match(first.stdout(), /colmena worker stopped: 2 tasks done/);
    assert.match(first.stderr(), /SIGTERM, finishing the tasks in hand/);
    const finished = [await server.queues.getResult('default', { timeoutMs: 20_000 }), await server.queues.getResult('default', { timeoutMs: 20_000 })];
    assert.deepEqual(finished.map((r) => [r.success, r.workerInfo?.pid]), [[true, first.pid], [true, first.pid]]);
    assert.equal(await jobs.getWaitingCount(), 1);

    const second = await fleet.spawn({ url: redis.url, prefix, executor: 'cpu' });
    const last = await server.queues.getResult('default', { timeoutMs: 20_000 });
    assert.equal(last.success, true);
    assert.equal(last.workerInfo?.pid, second.pid);
    assert.equal(last.workerInfo?.hostname, second.hostname);
  });

  it('ends a task that keeps killing its worker as a failed Result after its retry budget', async () => {
    const prefix = redis.prefix();
    const server = taskServer({ url: redis.url, prefix });
    closers.push(server.close);
    // maxStalledCount 0: a job whose worker dies fails at once; maxRetries 1 then sends it once more.
    const args = ['--max-stalled', '0', '--lock-ms', '1000', '--stalled-interval-ms', '500'];
    const workers = await Promise.all([1, 2, 3].map(() => fleet.spawn({ url: redis.url, prefix, executor: 'cpu', concurrency: 1, args })));
    await server.queues.sendInputs('killWorker', [], { maxRetries: 1 });
    const result = await server.queues.getResult('default', { timeoutMs: 60_000 });
    assert.equal(result.success, false);
    assert.equal(result.failureInfo?.reason, 'worker-crashed');
    assert.match(result.failureInfo?.message ?? '', /its worker stopped while running it/);
    assert.equal(result.retries, 1);
    assert.deepEqual(result.failedAttempts.map((attempt) => attempt.failure.reason), ['worker-crashed']);
    const dead = workers.filter((worker) => !worker.alive);
    assert.equal(dead.length, 2, 'one worker killed per attempt, and no more');
    for (const worker of dead) assert.deepEqual(await worker.exited, { code: null, signal: 'SIGKILL' });

    await server.queues.sendInputs('add', [1, 2]);
    const after = await server.queues.getResult('default', { timeoutMs: 20_000 });
    assert.equal(after.value, 3);
    assert.equal(after.workerInfo?.pid, workers.find((worker) => worker.alive)!.pid);
  });

  it("aborts the worker's running task on the task server's stop({ abortAfterMs }): one cancelled Result, and the job ends at once", async () => {
    const prefix = redis.prefix();
    const jobs = new Queue('cpu', { connection: { url: redis.url }, prefix });
    closers.push(() => jobs.close());
    await fleet.spawn({ url: redis.url, prefix, executor: 'cpu', concurrency: 1 });
    const queues = new LocalQueues<M>();
    const server = new LocalTaskServer(queues, { methods, executors: { cpu: new BullmqExecutor('cpu', { url: redis.url, prefix }) } }).start();
    try {
      // Far longer than the test may take: only the abort can end it.
      await queues.sendInputs('sleep', [600_000]);
      await until(async () => (await jobs.getActiveCount()) === 1);
      await server.stop({ abortAfterMs: 50 });
      const result = await queues.getResult('default', { timeoutMs: 20_000 });
      assert.equal(result.success, false);
      assert.equal(result.failureInfo?.reason, 'cancelled');
      assert.equal(queues.activeCount(), 0, 'the task is answered once and retired');
      // The worker heard the stop: its thread was ended and the job left the active list (long before its 10 minutes).
      const deadline = Date.now() + 20_000;
      while ((await jobs.getActiveCount()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await jobs.getActiveCount(), 0, 'the worker stopped the job');
    } finally {
      await queues.close();
    }
  });

  it('refuses a bad command line, saying what to fix', async () => {
    const base = WorkerFleet.command({ url: redis.url, prefix: 'unused', executor: 'cpu' });
    const methodsAt = base.indexOf('--methods') + 1;
    const variants: [string, string[], RegExp][] = [
      ['no --methods', base.filter((_, i) => i !== methodsAt && i !== methodsAt - 1), /required option '--methods <module>' not specified/],
      ['a missing module', base.map((arg, i) => (i === methodsAt ? './no/such/methods.js' : arg)), /Cannot load the methods module file:\/\/.*no\/such\/methods\.js/],
      ['a module without functions', base.map((arg, i) => (i === methodsAt ? 'test/fixtures/bullmq-no-methods.ts' : arg)), /exports no functions/],
      ['a bad concurrency', [...base, '--concurrency', '0'], /option '--concurrency <n>' argument '0' is invalid\. expected a positive integer/],
      ['a queue name with a colon', base.map((arg) => (arg === 'cpu' ? 'cpu:1' : arg)), /may only use letters, digits/],
    ];
    for (const [what, command, message] of variants) {
      const { process: worker } = fleet.start(command);
      const { code } = await worker.exited;
      assert.notEqual(code, 0, what);
      assert.match(worker.stderr(), message, what);
    }
  });

  describe('connecting', () => {
    let secured: CustomRedis | null = null;
    let certificates: Certificates | null = null;
    after(async () => {
      await secured?.stop();
      await certificates?.remove();
    });

    it('with a password from a file, and fails fast with a wrong one', async () => {
      const password = randomUUID();
      secured = await startCustomRedis({ password });
      const url = `redis://127.0.0.1:${secured.port}`;
      const passwordFile = join(tmpdir(), `colmena-${randomUUID()}`);
      await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
      closers.push(() => rm(passwordFile, { force: true }));
      const prefix = redis.prefix();
      const worker = await fleet.spawn({ url, prefix, executor: 'cpu', args: ['--password-file', passwordFile] });
      assert.doesNotMatch(worker.stdout(), new RegExp(password));
      const server = taskServer({ url: `redis://:${password}@127.0.0.1:${secured.port}`, prefix });
      closers.push(server.close);
      await server.queues.sendInputs('add', [2, 3]);
      assert.equal((await server.queues.getResult('default', { timeoutMs: 20_000 })).value, 5);

      const { process: refused } = fleet.start(WorkerFleet.command({ url, prefix, executor: 'cpu' }), { COLMENA_REDIS_PASSWORD: 'wrong' });
      assert.equal((await refused.exited).code, 1);
      assert.match(refused.stderr(), /Redis at redis:\/\/127\.0\.0\.1:\d+ refused the password \(wrong password.*\(wrong password: check --password-file/);
      assert.doesNotMatch(refused.stderr(), /colmena worker: waiting for Redis/, 'a wrong password is not waited through');

      // The executor side: a wrong password answers the task at once, saying so.
      const wrong = new BullmqExecutor('cpu', { url: `redis://:wrong@127.0.0.1:${secured.port}`, prefix });
      const reply = await wrong.run(remoteMethod({ executor: 'cpu' }), { method: 'add', serializationMethod: 'json', inputs: [['1', '2'], {}] }, {});
      assert.equal(reply.success, false);
      assert.equal(reply.failure?.name, 'RedisConnectionError');
      assert.match(reply.failure?.message ?? '', /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the password \(wrong password/);
      await wrong.close();
      await server.close();
      await secured.stop();
    });

    it('says it is waiting for Redis while nothing answers, with the password redacted', async () => {
      const port = await freePort();
      const url = `redis://:hush-${randomUUID()}@127.0.0.1:${port}`;
      const { process: waiting } = fleet.start(WorkerFleet.command({ url, prefix: redis.prefix(), executor: 'cpu' }));
      await untilTrue(() => /colmena worker: waiting for Redis/.test(waiting.stderr()), 'the waiting line', 30_000);
      assert.match(waiting.stderr(), new RegExp(`colmena worker: waiting for Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}: .*[Cc]annot reach`));
      assert.doesNotMatch(waiting.stderr() + waiting.stdout(), /hush-/);
      assert.ok(waiting.alive, 'it keeps waiting');
      waiting.child.kill('SIGKILL');
      await waiting.exited;
    });

    it('over TLS, trusting a given CA', async () => {
      certificates = await makeCertificates();
      secured = await startCustomRedis({ tls: certificates });
      const url = `rediss://127.0.0.1:${secured.port}`;
      const prefix = redis.prefix();
      const worker = await fleet.spawn({ url, prefix, executor: 'cpu', args: ['--tls-ca', certificates.ca] });
      assert.match(worker.stdout(), /at rediss:\/\/127\.0\.0\.1/);
      const server = taskServer({ url, prefix, redisOptions: { tls: { ca: await readFile(certificates.ca) } } });
      closers.push(server.close);
      await server.queues.sendInputs('add', [20, 22]);
      const result = await server.queues.getResult('default', { timeoutMs: 20_000 });
      assert.equal(result.value, 42);
      assert.equal(result.workerInfo?.pid, worker.pid);
      await server.close();
    });
  });
});
