/**
 * Campaigns that outlive their process: a thinker killed (SIGKILL), stopped by SIGTERM or by its
 * deadline, then resumed from its record. Methods count their own calls, so a task run twice shows.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { readCampaignRecord } from '../../src/monitor/run-log/campaign-record.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { leaseKeys } from '../../src/queue/redis-lease.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { until } from '../helpers/until.js';
import { tempFolder } from '../monitor/helpers.js';
import { objective } from './fixtures/methods.js';
import { callCounts, killStartedChildren, recordedResults, startChild, summaryOf, type Child } from './processes.js';

const WAIT_MS = 60_000;

/** A campaign's record and method-call log in a folder of its own, removed afterwards (`await using`). */
async function campaignFiles(): Promise<{ record: string; calls: string; env: Record<string, string>; [Symbol.asyncDispose](): Promise<void> }> {
  const { dir, remove } = await tempFolder();
  const calls = join(dir, 'calls.txt');
  return { record: join(dir, 'run.jsonl'), calls, env: { COLMENA_RESUME_CALLS: calls }, [Symbol.asyncDispose]: remove };
}

function expectedBest(budget: number): number {
  let best = Infinity;
  for (let i = 0; i < budget; i++) best = Math.min(best, objective(i));
  return best;
}

/** Every point of the budget counted exactly once by the resumed thinker (replayed or taken). */
function assertCountedOnce(counted: Record<string, number>, budget: number): void {
  assert.deepEqual(
    Object.keys(counted).map(Number).sort((a, b) => a - b),
    Array.from({ length: budget }, (_, i) => i),
    'every point has a result',
  );
  for (const [point, times] of Object.entries(counted)) assert.equal(times, 1, `point ${point} counted ${times} times`);
}

/** The task server in its own process on Redis queues under `prefix`, once it says it is ready. */
async function startTaskServer(prefix: string, env: Record<string, string>): Promise<Child> {
  const server = startChild('server.ts', [redis.url, prefix], env);
  await until(() => server.lines.includes('ready'), 'the task server to start', WAIT_MS);
  return server;
}

/** Stop the task server with the kill signal; it must exit cleanly. */
async function stopTaskServer(server: Child, prefix: string): Promise<void> {
  const queues = new RedisQueues({ url: redis.url, prefix, topics: ['sweep'], role: 'client' });
  await queues.sendKillSignal();
  await queues.close();
  assert.equal((await server.exited).code, 0, server.stderr());
}

let redis: RedisServerHandle;
before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  await killStartedChildren();
  await redis.stop();
});

test('SIGKILL a thinker on Redis queues with the task server in its own process; the resumed thinker adopts its tasks in flight', async () => {
  await using files = await campaignFiles();
  const { record, calls, env } = files;
  const prefix = `resume-${randomUUID()}`;
  const budget = 40;
  const settings = { record, budget, slots: 4, workMs: 30, queues: 'redis', url: redis.url, prefix };
  const server = await startTaskServer(prefix, env);

  const first = startChild('thinker.ts', [JSON.stringify(settings)], env);
  await until(() => first.processed() >= 12, 'the first thinker to take 12 results', WAIT_MS);
  // Freeze the task server, then kill the thinker once it has taken and recorded every result
  // it popped, and recorded every task it sent: what a crash leaves behind is then exactly the
  // tasks queued or running, each in the record (a send recorded only after the kill would be
  // sent again by the next run, and run twice).
  server.process.kill('SIGSTOP');
  const client = new Redis(redis.url);
  const heldInRedis = async (): Promise<number> => {
    let held = await client.llen(`${prefix}_requests`);
    // Every server's keys, whatever its id.
    const anyServer = leaseKeys(prefix, '*');
    for (const key of await client.keys(anyServer.leases)) held += await client.hlen(key);
    for (const key of await client.keys(anyServer.processing)) held += await client.llen(key);
    return held;
  };
  const quiet = async (): Promise<boolean> =>
    (await client.llen(`${prefix}_sweep_result`)) === 0 &&
    first.processed() === recordedResults(record) &&
    (await readCampaignRecord(record)).inFlight.length === (await heldInRedis());
  const deadline = Date.now() + WAIT_MS;
  for (let quietChecks = 0; quietChecks < 2; ) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the first thinker to record every result it took');
    quietChecks = (await quiet()) ? quietChecks + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  first.process.kill('SIGKILL');
  assert.equal((await first.exited).signal, 'SIGKILL');
  server.process.kill('SIGCONT');

  const left = await readCampaignRecord(record);
  assert.ok(left.completed.length >= 12, `the record holds the results taken (${left.completed.length})`);
  assert.ok(left.inFlight.length > 0, 'the record shows tasks in flight');
  const finishedBefore = new Set(left.completed.map((r) => r.args[0] as number));

  const second = startChild('thinker.ts', [JSON.stringify({ ...settings, resume: 'adopt' })], env);
  const ended = await second.exited;
  assert.equal(ended.code, 0, second.stderr());
  const summary = summaryOf(second);
  assert.equal(summary.outcome, 'completed');
  assert.equal(summary.replayed, finishedBefore.size);
  assert.equal(summary.carried, left.inFlight.length);
  assertCountedOnce(summary.counted, budget);
  assert.equal(summary.best?.value, expectedBest(budget));
  // Adopted, not re-sent: no point ran twice, finished or not.
  const counts = callCounts(calls);
  for (let i = 0; i < budget; i++) assert.equal(counts.get(i), 1, `point ${i} ran ${counts.get(i) ?? 0} times`);

  const after = await readCampaignRecord(record);
  assert.equal(after.completed.length, budget);
  assert.equal(after.inFlight.length, 0);

  await stopTaskServer(server, prefix);
  await client.quit();
});

test('SIGKILL a thinker on Redis at any moment; re-sending (the default) counts every result once and runs no finished task again', async () => {
  await using files = await campaignFiles();
  const { record, calls, env } = files;
  const prefix = `resume-${randomUUID()}`;
  const budget = 40;
  const settings = { record, budget, slots: 4, workMs: 30, queues: 'redis', url: redis.url, prefix };
  const server = await startTaskServer(prefix, env);

  // No freezing this time: results may be in flight on Redis, or taken and not yet recorded.
  const first = startChild('thinker.ts', [JSON.stringify(settings)], env);
  await until(() => first.processed() >= 12, 'the first thinker to take 12 results', WAIT_MS);
  first.process.kill('SIGKILL');
  await first.exited;
  const left = await readCampaignRecord(record);
  const finishedBefore = new Set(left.completed.map((r) => r.args[0] as number));
  const callsBefore = callCounts(calls);

  const second = startChild('thinker.ts', [JSON.stringify({ ...settings, resume: 'resend' })], env);
  assert.equal((await second.exited).code, 0, second.stderr());
  const summary = summaryOf(second);
  assert.equal(summary.replayed, finishedBefore.size);
  assertCountedOnce(summary.counted, budget);
  assert.equal(summary.best?.value, expectedBest(budget));
  const counts = callCounts(calls);
  for (const i of finishedBefore) assert.equal(counts.get(i), callsBefore.get(i), `finished point ${i} ran again`);

  await stopTaskServer(server, prefix);
});

test('SIGKILL a thinker on local queues; the resumed thinker re-sends its tasks in flight and runs no finished task again', async () => {
  await using files = await campaignFiles();
  const { record, calls, env } = files;
  const budget = 30;
  const settings = { record, budget, slots: 3, workMs: 20, queues: 'local' };
  const first = startChild('thinker.ts', [JSON.stringify(settings)], env);
  await until(() => first.processed() >= 10, 'the first thinker to take 10 results', WAIT_MS);
  first.process.kill('SIGKILL');
  await first.exited;

  const left = await readCampaignRecord(record);
  const finishedBefore = new Set(left.completed.map((r) => r.args[0] as number));
  const callsBefore = callCounts(calls);

  const second = startChild('thinker.ts', [JSON.stringify({ ...settings, resume: 'resend' })], env);
  assert.equal((await second.exited).code, 0, second.stderr());
  const summary = summaryOf(second);
  assert.equal(summary.replayed, finishedBefore.size);
  assert.equal(summary.carried, left.inFlight.length);
  assertCountedOnce(summary.counted, budget);
  assert.equal(summary.best?.value, expectedBest(budget));
  const counts = callCounts(calls);
  for (const i of finishedBefore) assert.equal(counts.get(i), callsBefore.get(i), `finished point ${i} ran again`);
  for (let i = 0; i < budget; i++) assert.ok((counts.get(i) ?? 0) >= 1, `point ${i} never ran`);

  const after = await readCampaignRecord(record);
  assert.equal(after.completed.length, budget);
  assert.equal(after.inFlight.length, 0, 're-sent ids are closed in the record');
});

test('SIGTERM: the thinker stops submitting, lets its tasks finish, leaves a complete record; the resumed run reaches the uninterrupted best', async () => {
  await using files = await campaignFiles();
  const { record, calls, env } = files;
  const budget = 30;
  const settings = { record, budget, slots: 3, workMs: 20, queues: 'local' };
  const first = startChild('thinker.ts', [JSON.stringify(settings)], env);
  await until(() => first.processed() >= 8, 'the first thinker to take 8 results', WAIT_MS);
  first.process.kill('SIGTERM');
  assert.equal((await first.exited).code, 0, first.stderr());
  assert.equal(summaryOf(first).outcome, 'walltime');

  const left = await readCampaignRecord(record);
  assert.equal(left.inFlight.length, 0, 'every task sent finished before the thinker exited');
  assert.equal(left.completed.length, summaryOf(first).processed, 'every result taken is in the record');

  const second = startChild('thinker.ts', [JSON.stringify({ ...settings, resume: 'adopt' })], env);
  assert.equal((await second.exited).code, 0, second.stderr());
  const summary = summaryOf(second);
  assertCountedOnce(summary.counted, budget);
  assert.equal(summary.best?.value, expectedBest(budget));
  const counts = callCounts(calls);
  for (let i = 0; i < budget; i++) assert.equal(counts.get(i), 1, `point ${i} ran ${counts.get(i) ?? 0} times`);
});

test('A deadline with handBack: the thinker exits with tasks in flight; the next run re-sends them and completes', async () => {
  await using files = await campaignFiles();
  const { record, calls, env } = files;
  // 60 tasks of 40 ms on 3 slots take at least 800 ms: a 300 ms deadline always cuts them off.
  const budget = 60;
  const settings = { record, budget, slots: 3, workMs: 40, queues: 'local', deadlineMs: 300, inFlight: 'handBack' };
  const first = startChild('thinker.ts', [JSON.stringify(settings)], env);
  assert.equal((await first.exited).code, 0, first.stderr());
  assert.equal(summaryOf(first).outcome, 'walltime');
  const left = await readCampaignRecord(record);
  assert.ok(left.completed.length < budget);
  const finishedBefore = new Set(left.completed.map((r) => r.args[0] as number));
  const callsBefore = callCounts(calls);

  const { deadlineMs: _d, inFlight: _i, ...unbounded } = settings;
  const second = startChild('thinker.ts', [JSON.stringify({ ...unbounded, resume: 'resend' })], env);
  assert.equal((await second.exited).code, 0, second.stderr());
  const summary = summaryOf(second);
  assert.equal(summary.outcome, 'completed');
  assertCountedOnce(summary.counted, budget);
  assert.equal(summary.best?.value, expectedBest(budget));
  const counts = callCounts(calls);
  for (const i of finishedBefore) assert.equal(counts.get(i), callsBefore.get(i), `finished point ${i} ran again`);
});
