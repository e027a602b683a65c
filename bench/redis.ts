/**
 * `npm run bench -- redis`: no-op tasks through RedisQueues (thinker and task server on separate
 * connections, as in separate processes), against a bare ioredis LPUSH/BRPOP ping-pong through
 * the same server in the same run. Starts its own redis-server unless REDIS_URL is set.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inlineMethod } from '../src/methods/spec.js';
import { RedisQueues } from '../src/queue/redis.js';
import { LocalTaskServer } from '../src/task-server/local.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { closedLoopThroughput, flag, option, percentile, report, round, sequentialLatencies } from './lib.js';

/** Client pushes on A; an echo side pops A and pushes on B; the client pops B. Two hops, like a task. */
async function bare(url: string, total: number, latencyCount: number, window: number) {
  const key = `bench-${randomUUID()}`;
  const [clientPush, clientPop, echoPop, echoPush] = [0, 1, 2, 3].map(() => new Redis(url));
  let echoing = true;
  const echo = (async () => {
    while (echoing) {
      const reply = await echoPop!.brpop(`${key}_a`, 0);
      if (reply && reply[1] !== 'stop') await echoPush!.lpush(`${key}_b`, reply[1]);
    }
  })();
  const send = async () => void (await clientPush!.lpush(`${key}_a`, 'ping'));
  const receive = async () => void (await clientPop!.brpop(`${key}_b`, 0));
  await closedLoopThroughput(1000, window, send, receive);
  const tasksPerS = await closedLoopThroughput(total, window, send, receive);
  const latencies = await sequentialLatencies(latencyCount, async () => {
    await send();
    await receive();
  });
  echoing = false;
  await clientPush!.lpush(`${key}_a`, 'stop');
  await echo;
  for (const connection of [clientPush, clientPop, echoPop, echoPush]) connection!.disconnect();
  return { tasksPerS, latencies };
}

/**
 * The bare batched limit of "all sent at once": one RPUSH of every ping, an echo side that pops
 * in batches (BLMPOP COUNT) and pushes each batch back in one RPUSH, a client that pops in batches.
 */
async function bareAtOnce(url: string, total: number): Promise<number> {
  const key = `bench-${randomUUID()}`;
  const [client, clientPop, echoPop, echoPush] = [0, 1, 2, 3].map(() => new Redis(url));
  const echo = (async () => {
    for (let echoed = 0; echoed < total; ) {
      const [, items] = (await echoPop!.call('BLMPOP', 0, 1, `${key}_a`, 'LEFT', 'COUNT', 256)) as [string, string[]];
      await echoPush!.rpush(`${key}_b`, ...items);
      echoed += items.length;
    }
  })();
  const started = performance.now();
  await client!.rpush(`${key}_a`, ...Array.from({ length: total }, () => 'ping'));
  for (let received = 0; received < total; ) {
    const [, items] = (await clientPop!.call('BLMPOP', 0, 1, `${key}_b`, 'LEFT', 'COUNT', 256)) as [string, string[]];
    received += items.length;
  }
  const rate = total / ((performance.now() - started) / 1000);
  await echo;
  for (const connection of [client, clientPop, echoPop, echoPush]) connection!.disconnect();
  return rate;
}

/** Every task sent at once (one loop of sendInputs), then every result taken. */
async function oursAtOnce(client: RedisQueues<{ noop: () => void }>, total: number): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: total }, () => client.sendInputs('noop', [])));
  for (let i = 0; i < total; i++) await client.getResult();
  return total / ((performance.now() - started) / 1000);
}

export async function main(argv: string[]): Promise<void> {
  const quick = flag(argv, 'quick');
  const total = option(argv, 'tasks', quick ? 5000 : 20_000);
  const latencyCount = option(argv, 'latency-tasks', quick ? 500 : 2000);
  const window = option(argv, 'window', 64);
  const ownServer = process.env.REDIS_URL ? null : await startRedisServer();
  const url = process.env.REDIS_URL ?? ownServer!.url;
  try {
    const baseline = await bare(url, total, latencyCount, window);

    const prefix = `bench-${randomUUID()}`;
    const client = new RedisQueues<{ noop: () => void }>({ url, prefix, role: 'client' });
    const serverQueues = new RedisQueues({ url, prefix, role: 'server' });
    const server = new LocalTaskServer(serverQueues, { methods: { noop: inlineMethod(() => {}) } }).start();
    const send = async () => void (await client.sendInputs('noop', []));
    const receive = async () => void (await client.getResult());
    await closedLoopThroughput(1000, window, send, receive);
    const tasksPerS = await closedLoopThroughput(total, window, send, receive);
    const latencies = await sequentialLatencies(latencyCount, async () => {
      await send();
      await receive();
    });
    const atOnceTotal = option(argv, 'at-once', 2000);
    await oursAtOnce(client, atOnceTotal); // warm-up
    const atOnce: number[] = [];
    const bareBatched: number[] = [];
    for (let round = 0; round < 3; round++) {
      atOnce.push(await oursAtOnce(client, atOnceTotal));
      bareBatched.push(await bareAtOnce(url, atOnceTotal));
    }
    await client.sendKillSignal();
    await server.join();
    await Promise.all([client.close(), serverQueues.close()]);

    const p50 = percentile(latencies, 50);
    const bareP50 = percentile(baseline.latencies, 50);
    report({
      bench: 'redis',
      tasks: total,
      window,
      executor: 'inline',
      tasks_per_s: Math.round(tasksPerS),
      p50_ms: round(p50),
      p99_ms: round(percentile(latencies, 99)),
      bare_tasks_per_s: Math.round(baseline.tasksPerS),
      bare_p50_ms: round(bareP50),
      throughput_ratio: round(tasksPerS / baseline.tasksPerS),
      p50_ratio: round(p50 / bareP50),
      p99_ratio: round(percentile(latencies, 99) / percentile(baseline.latencies, 99)),
    });
    const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);
    report({
      bench: 'redis',
      mode: 'at-once',
      tasks: atOnceTotal,
      executor: 'inline',
      tasks_per_s: Math.round(median(atOnce)),
      bare_batched_tasks_per_s: Math.round(median(bareBatched)),
      throughput_ratio: round(median(atOnce) / median(bareBatched)),
    });
  } finally {
    await ownServer?.stop();
  }
}
