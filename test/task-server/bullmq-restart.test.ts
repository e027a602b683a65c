/**
 * Restarting the task server that holds a BullMQ executor (issue 14, item 3): the process is
 * SIGKILLed mid-run while its jobs wait, run and finish on real `colmena worker` processes; a new
 * one with the same executor name collects the replies of jobs that finished meanwhile and adopts
 * the jobs still waiting or running. Every task ends with exactly one result and runs once.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RedisQueues } from '../../src/queue/redis.js';
import { WorkerFleet } from '../fixtures/bullmq-workers.js';
import { redisFixture } from '../helpers/redis.js';
import { until } from '../helpers/until.js';

const SERVER = fileURLToPath(new URL('../fixtures/bullmq-restart/server.ts', import.meta.url));
const METHODS = fileURLToPath(new URL('../fixtures/bullmq-restart/methods.ts', import.meta.url));
type Methods = { record: (file: string, i: number, ms: number) => Promise<number> };

const redis = redisFixture();

interface ServerProcess {
  child: ChildProcess;
  output(): string;
}

async function startServer(prefix: string, leaseMs: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, redis.url, prefix, String(leaseMs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, COLMENA_LOG_LEVEL: 'info' },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (/ready \S+/.test(output)) resolve();
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`task server exited with ${code} before it was ready:\n${output}`)));
  });
  return { child, output: () => output };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

describe('BullMQ executor restart', () => {
  const fleet = new WorkerFleet();
  const servers: ChildProcess[] = [];
  const runs = join(tmpdir(), `colmena-restart-${process.pid}-${Date.now()}.log`);
  before(async () => {
    await redis.start();
  });
  after(async () => {
    await Promise.all(servers.map(kill));
    await fleet.killAll();
    await rm(runs, { force: true });
    await redis.stop();
  });

  it('SIGKILL the process holding the BullmqExecutor mid-run, start a new one: every task one result, none run twice', async () => {
    const prefix = redis.prefix();
    const total = 300;
    const spawnWorker = () => fleet.spawn({ url: redis.url, prefix, executor: 'cpu', methods: METHODS, concurrency: 2 });
    await Promise.all([spawnWorker(), spawnWorker()]);
    const queues = new RedisQueues<Methods>({ url: redis.url, prefix, role: 'client' });
    const dropped: string[] = [];
    queues.events.on('dropped', ({ reason }) => dropped.push(reason));
    const first = await startServer(prefix, 600);
    servers.push(first.child);
    await Promise.all(Array.from({ length: total }, (_, i) => queues.sendInputs('record', [runs, i, 30])));

    const finals = new Map<string, number>();
    const values = new Set<number>();
    let received = 0;
    const collecting = (async () => {
      while (received < total) {
        const result = await queues.getResult('default', { timeoutMs: 60_000 });
        assert.equal(result.success, true, result.failureInfo?.message);
        finals.set(result.taskId, (finals.get(result.taskId) ?? 0) + 1);
        values.add(result.value as number);
        received++;
      }
    })();
    await until(() => received >= 60, '60 results', 60_000);
    await kill(first.child);
    assert.ok(received < total, 'the kill came before the end');
    const atKill = received;

    const second = await startServer(prefix, 600);
    servers.push(second.child);
    await collecting;
    assert.equal(finals.size, total, 'every task has a final result');
    assert.ok([...finals.values()].every((count) => count === 1), 'exactly one each');
    assert.equal(values.size, total);
    assert.deepEqual(dropped, [], 'no duplicate reached the thinker');

    // Each task ran once on the workers: the jobs the dead server had added were not run again.
    const lines = (await readFile(runs, 'utf8')).trim().split('\n');
    const counts = new Map<string, number>();
    for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
    const twice = [...counts].filter(([, count]) => count > 1).map(([i]) => i);
    assert.deepEqual(twice, [], 'no task ran twice');
    assert.equal(counts.size, total);

    // The new server found its predecessor's jobs: finished ones collected, the rest adopted.
    const found = (second.output().match(/collected a job that finished|adopted a job a previous task server added/g) ?? []).length;
    assert.ok(found > 0, `the restarted server collected or adopted jobs (results at kill: ${atKill}); its output:\n${second.output().slice(-2000)}`);

    await queues.sendKillSignal();
    await once(second.child, 'exit');
    await queues.close();
  });
});
