/**
 * `npm run bench -- recovery`: what leased delivery buys and costs.
 *
 * - Recovery: a task server process holding 8 long tasks is SIGKILLed while a second one stands
 *   by; the figure is the time from the kill until Redis shows all 8 under the standby's lease
 *   (taken again, so running again), beside the heartbeat interval and the lease.
 * - Cost: no-op tasks through RedisQueues with leases and with plain pops (as Python Colmena
 *   takes them), alternated in rounds in the same run.
 *
 * Starts its own redis-server unless REDIS_URL is set.
 */
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inlineMethod } from '../src/methods/spec.js';
import { RedisQueues } from '../src/queue/redis.js';
import { leaseKeys, resolveLease } from '../src/queue/redis-lease.js';
import { LocalTaskServer } from '../src/task-server/local.js';
import { startRecoveryServer } from '../test/fixtures/recovery/start-server.js';
import { leasedRequests } from '../test/helpers/redis.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { closedLoopThroughput, flag, median, option, report, round } from './lib.js';

function startServer(url: string, prefix: string, leaseMs: number, window: number): ReturnType<typeof startRecoveryServer> {
  return startRecoveryServer(url, prefix, leaseMs, window, 'error');
}

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Milliseconds from SIGKILL of a server holding `held` tasks until a standby has taken them all. */
async function recoveryMs(url: string, leaseMs: number, held: number): Promise<number> {
  const prefix = `bench-${randomUUID()}`;
  const raw = new Redis(url);
  const queues = new RedisQueues<{ nap: (i: number, ms: number) => Promise<number> }>({ url, prefix, role: 'client', noServerWarningMs: null });
  const first = await startServer(url, prefix, leaseMs, held);
  await Promise.all(Array.from({ length: held }, (_, i) => queues.sendInputs('nap', [i, 600_000])));
  await waitFor(async () => (await leasedRequests(raw, prefix, first.serverId)).length === held, 'the first server to take every task');
  const standby = await startServer(url, prefix, leaseMs, held * 2);
  const exited = once(first.child, 'exit');
  const killedAt = performance.now();
  first.child.kill('SIGKILL');
  await exited;
  await waitFor(async () => (await leasedRequests(raw, prefix, standby.serverId)).length === held, 'the standby to take them again', leaseMs * 10);
  const elapsed = performance.now() - killedAt;
  const stopped = once(standby.child, 'exit');
  standby.child.kill('SIGKILL');
  await stopped;
  const standbyKeys = leaseKeys(prefix, standby.serverId);
  await raw.del(standbyKeys.processing, standbyKeys.leases, `${prefix}_requests`);
  raw.disconnect();
  await queues.close();
  return elapsed;
}

/** No-op tasks per second through RedisQueues, with or without leases, in a closed loop. */
async function throughput(url: string, leased: boolean, total: number, window: number): Promise<number> {
  const prefix = `bench-${randomUUID()}`;
  const client = new RedisQueues<{ noop: () => void }>({ url, prefix, role: 'client', noServerWarningMs: null });
  const serverQueues = new RedisQueues({ url, prefix, role: 'server', leasedDelivery: leased });
  const server = new LocalTaskServer(serverQueues, { methods: { noop: inlineMethod(() => {}) }, window }).start();
  const send = async () => void (await client.sendInputs('noop', []));
  const receive = async () => void (await client.getResult());
  await closedLoopThroughput(Math.min(1000, total), window, send, receive);
  const rate = await closedLoopThroughput(total, window, send, receive);
  await client.sendKillSignal();
  await server.join();
  await Promise.all([client.close(), serverQueues.close()]);
  return rate;
}

export async function main(argv: string[]): Promise<void> {
  const quick = flag(argv, 'quick');
  const leaseMs = option(argv, 'lease-ms', 1500);
  const held = option(argv, 'held', 8);
  const tries = option(argv, 'tries', quick ? 2 : 5);
  const total = option(argv, 'tasks', quick ? 3000 : 10_000);
  const window = option(argv, 'window', 64);
  const ownServer = process.env.REDIS_URL ? null : await startRedisServer();
  const url = process.env.REDIS_URL ?? ownServer!.url;
  try {
    const { heartbeatMs, reclaimMs } = resolveLease({ leaseMs });
    const recoveries: number[] = [];
    for (let i = 0; i < tries; i++) recoveries.push(await recoveryMs(url, leaseMs, held));
    report({
      bench: 'recovery',
      held_tasks: held,
      lease_ms: leaseMs,
      heartbeat_ms: heartbeatMs,
      reclaim_check_ms: reclaimMs,
      recovery_ms_median: round(median(recoveries), 1),
      recovery_ms_max: round(Math.max(...recoveries), 1),
      recovery_over_heartbeat: round(median(recoveries) / heartbeatMs, 2),
      recovery_over_lease: round(median(recoveries) / leaseMs, 2),
    });

    const rates = { leased: [] as number[], plain: [] as number[] };
    for (let round = 0; round < 3; round++) {
      rates.leased.push(await throughput(url, true, total, window));
      rates.plain.push(await throughput(url, false, total, window));
    }
    const leasedRate = median(rates.leased);
    const plainRate = median(rates.plain);
    report({
      bench: 'recovery',
      mode: 'lease-cost',
      tasks: total,
      window,
      executor: 'inline',
      leased_tasks_per_s: Math.round(leasedRate),
      plain_pop_tasks_per_s: Math.round(plainRate),
      cost_fraction: round(1 - leasedRate / plainRate),
    });
  } finally {
    await ownServer?.stop();
  }
}
