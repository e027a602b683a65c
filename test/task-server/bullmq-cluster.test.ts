/**
 * End to end across hosts: three `colmena worker` processes (each in its own network namespace
 * when this machine allows it, else on loopback) share 2,000 tasks; one is SIGKILLed while tasks
 * are in flight. Every task must end with exactly one complete Result, and the survivors must
 * carry on with the work, including what the dead worker held.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { QueueEvents } from 'bullmq';
import { ColmenaTimeoutError } from '../../src/common/errors.js';
import { remoteMethod } from '../../src/methods/spec.js';
import { nowSeconds } from '../../src/models/clock.js';
import type { Result } from '../../src/models/result.js';
import { LocalQueues } from '../../src/queue/local.js';
import { BullmqExecutor } from '../../src/task-server/bullmq/executor.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import type * as fixtures from '../fixtures/bullmq-methods.js';
import { createVirtualHosts, type VirtualHosts } from '../fixtures/bullmq-netns.js';
import { type CustomRedis, startCustomRedis } from '../fixtures/bullmq-redis.js';
import { WorkerFleet, type WorkerProcess } from '../fixtures/bullmq-workers.js';
import { activeResources, until } from '../helpers/until.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

const TASKS = 2000;
const KILL_AFTER = 400;

const methods = { sleep: remoteMethod<typeof fixtures.sleep>({ executor: 'cpu' }) };
type M = { sleep: typeof fixtures.sleep };

describe('BullMQ executor across three worker hosts', () => {
  const fleet = new WorkerFleet();
  const prefix = `cluster-${randomUUID()}`;
  const password = randomUUID();
  const localUrl = (): string => `redis://:${password}@127.0.0.1:${redis.port}`;
  let virtual: VirtualHosts | null = null;
  let redis: CustomRedis;
  let workers: WorkerProcess[];
  let stalled: QueueEvents;
  let stalledJobs = 0;
  const resourcesBefore = activeResources();

  before(async () => {
    const created = await createVirtualHosts(3);
    if ('unavailable' in created) console.log(`# workers on loopback: ${created.unavailable}`);
    else virtual = created;
    const gateways = virtual?.hosts.map((host) => host.gateway) ?? [];
    // As on a cluster: Redis listens beyond loopback, so it needs a password.
    redis = await startCustomRedis({ bind: ['127.0.0.1', ...gateways], password });
    // A short lock and stall check, so the dead worker's tasks move on within seconds.
    const args = ['--lock-ms', '2000', '--stalled-interval-ms', '1000'];
    workers = await Promise.all(
      [0, 1, 2].map((i) => {
        const host = virtual?.hosts[i];
        const url = `redis://${host?.gateway ?? '127.0.0.1'}:${redis.port}`;
        // The password goes in the environment, not on the command line where ps shows it.
        const env = { COLMENA_REDIS_PASSWORD: password };
        return fleet.spawn({ url, prefix, executor: 'cpu', concurrency: 4, args, env, ...(host && { host: { netns: host.netns, hostname: host.hostname } }) });
      }),
    );
    stalled = new QueueEvents('cpu', { connection: { url: localUrl() }, prefix });
    stalled.on('stalled', () => stalledJobs++);
    await stalled.waitUntilReady();
  });

  after(async () => {
    await fleet.killAll();
    await stalled?.close();
    await redis?.stop();
    await virtual?.remove();
  });

  it('gives every one of 2,000 tasks exactly one complete Result when a worker is SIGKILLed mid-run', async (t) => {
    if (virtual) {
      assert.equal(new Set(workers.map((w) => w.hostname)).size, 3, 'each worker runs on a host of its own');
    }
    const queues = new LocalQueues<M>();
    const executor = new BullmqExecutor('cpu', { url: localUrl(), prefix });
    const server = new LocalTaskServer(queues, { methods, executors: { cpu: executor } }).start();
    let sentResults = 0;
    server.events.on('result', () => sentResults++);

    const sent = new Set<string>();
    for (let i = 0; i < TASKS; i++) sent.add(await queues.sendInputs('sleep', [5 + (i % 10)]));

    const results: Result[] = [];
    const victim = workers[0]!;
    let killedAt = Infinity;
    for (let i = 0; i < TASKS; i++) {
      results.push(await queues.getResult('default', { timeoutMs: 60_000 }));
      if (results.length === KILL_AFTER) {
        killedAt = nowSeconds();
        process.kill(victim.pid, 'SIGKILL');
      }
    }
    assert.deepEqual(await victim.exited, { code: null, signal: 'SIGKILL' });

    // Exactly one complete, successful Result per task.
    const ids = results.map((r) => r.taskId);
    assert.equal(new Set(ids).size, TASKS, 'no task answered twice');
    assert.deepEqual(new Set(ids), sent);
    const failed = results.filter((r) => !r.success || r.complete === false);
    assert.deepEqual(failed.map((r) => r.failureInfo), []);
    await queues.sendKillSignal();
    await server.join();
    assert.equal(sentResults, TASKS, 'the task server sent no extra result');
    await assert.rejects(queues.getResult('default', { timeoutMs: 100 }), ColmenaTimeoutError);
    await queues.close();

    // The work was shared, the dead worker's tasks were taken over, and the survivors carried on.
    const byWorker = (worker: WorkerProcess, list: Result[]) =>
      list.filter((r) => r.workerInfo?.pid === worker.pid && r.workerInfo.hostname === worker.hostname).length;
    t.diagnostic(
      `${virtual ? 'hosts in network namespaces' : 'processes on loopback'}; tasks per worker ` +
        `${workers.map((w) => `${w.hostname}/${w.pid}: ${byWorker(w, results)}`).join(', ')}; jobs found stalled: ${stalledJobs}`,
    );
    for (const worker of workers) assert.ok(byWorker(worker, results) > 0, `worker ${worker.hostname}/${worker.pid} ran tasks`);
    assert.ok(stalledJobs > 0, 'the killed worker had tasks in flight, which BullMQ found stalled');
    const afterKill = results.filter((r) => r.timestamp.computeStarted > killedAt);
    assert.equal(byWorker(victim, afterKill), 0);
    for (const survivor of workers.slice(1)) assert.ok(byWorker(survivor, afterKill) > 0, `${survivor.hostname}/${survivor.pid} carried on`);
    assert.equal(byWorker(workers[1]!, afterKill) + byWorker(workers[2]!, afterKill), afterKill.length);

    // The survivors are still serving, and stop cleanly when asked.
    for (const survivor of workers.slice(1)) {
      assert.ok(survivor.alive);
      survivor.child.kill('SIGTERM');
      assert.deepEqual(await survivor.exited, { code: 0, signal: null });
      assert.match(survivor.stdout(), /colmena worker stopped: \d+ tasks? done/);
    }
  });

  it('leaves no connection or timer open once closed', async () => {
    await stalled.close();
    // A closed socket's handle goes away a moment after close() returns.
    const left = () => activeResources().filter((kind) => !resourcesBefore.includes(kind) && kind !== 'ProcessWrap');
    await until(() => left().length === 0, `no handles left (left: ${left().join(', ')})`, 2000).catch(() => {});
    assert.deepEqual(left(), []);
  });
});
