/**
 * `npm run bench -- stream`: lag from a generator's `yield` to the thinker's `getResult`, for a
 * generator yielding a timestamp every 10 ms (`--interval-ms`), on the local path (inline and on
 * a worker thread) and through Redis (thinker and task server on separate connections), each
 * beside its raw limit in the same run: an async generator consumed directly by `for await`
 * (local), and a bare RPUSH of a timestamp popped by BLPOP (Redis). Timestamps are
 * `performance.timeOrigin + performance.now()`, comparable across threads of one process.
 * Target: p50 ≤ 1 ms local, ≤ 3 ms through Redis. Starts its own redis-server unless REDIS_URL is set.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inlineMethod, moduleMethod } from '../src/methods/spec.js';
import type { ColmenaQueues } from '../src/queue/base.js';
import { LocalQueues } from '../src/queue/local.js';
import { RedisQueues } from '../src/queue/redis.js';
import { LocalTaskServer } from '../src/task-server/local.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { flag, option, percentile, report, round } from './lib.js';
import { ticks } from './stream-methods.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

const now = (): number => performance.timeOrigin + performance.now();

function summary(lagsMs: number[]): { p50: number; p99: number } {
  const sorted = [...lagsMs].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 50), 3), p99: round(percentile(sorted, 99), 3) };
}

/** Lag of every intermediate result of one streamed task of `count` yields. */
async function streamLags(queues: ColmenaQueues, method: string, count: number, intervalMs: number): Promise<number[]> {
  await queues.sendInputs(method, [count, intervalMs]);
  const lags: number[] = [];
  for (;;) {
    const result = await queues.getResult('default', { timeoutMs: 60_000 });
    if (!result.success) throw new Error(`the generator failed: ${result.failureInfo?.message}`);
    if (result.complete !== false) return lags;
    lags.push(now() - (result.value as number));
  }
}

async function rawLocal(count: number, intervalMs: number): Promise<number[]> {
  const lags: number[] = [];
  for await (const at of ticks(count, intervalMs)) lags.push(now() - at);
  return lags;
}

async function rawRedis(url: string, count: number, intervalMs: number): Promise<number[]> {
  const key = `bench-stream-${randomUUID()}`;
  const [push, pop] = [new Redis(url), new Redis(url)];
  const lags: number[] = [];
  const consumer = (async () => {
    for (let i = 0; i < count; i++) {
      const reply = await pop.blpop(key, 0);
      lags.push(now() - Number(reply![1]));
    }
  })();
  for await (const at of ticks(count, intervalMs)) await push.rpush(key, String(at));
  await consumer;
  push.disconnect();
  pop.disconnect();
  return lags;
}

export async function main(argv: string[]): Promise<void> {
  const quick = flag(argv, 'quick');
  const count = option(argv, 'yields', quick ? 100 : 500);
  const intervalMs = option(argv, 'interval-ms', 10);
  const methods = {
    inlineTicks: inlineMethod(ticks, { generator: 'stream' }),
    threadTicks: moduleMethod<typeof ticks>(new URL('./stream-methods.ts', import.meta.url), 'ticks', { generator: 'stream' }),
  };

  const rawLocalLags = summary(await rawLocal(count, intervalMs));
  const local = new LocalQueues();
  const localServer = new LocalTaskServer(local, { methods, threads: 1 }).start();
  await streamLags(local, 'threadTicks', 5, intervalMs); // warm the thread and its module
  const inline = summary(await streamLags(local, 'inlineTicks', count, intervalMs));
  const threads = summary(await streamLags(local, 'threadTicks', count, intervalMs));
  await local.sendKillSignal();
  await localServer.join();
  await local.close();

  const ownServer = process.env.REDIS_URL ? null : await startRedisServer();
  const url = process.env.REDIS_URL ?? ownServer!.url;
  let redis: { p50: number; p99: number };
  let rawRedisLags: { p50: number; p99: number };
  try {
    rawRedisLags = summary(await rawRedis(url, count, intervalMs));
    const prefix = `bench-${randomUUID()}`;
    const client = new RedisQueues({ url, prefix });
    const serverQueues = new RedisQueues({ url, prefix, role: 'server' });
    const server = new LocalTaskServer(serverQueues, { methods: { inlineTicks: methods.inlineTicks } }).start();
    await streamLags(client, 'inlineTicks', 5, intervalMs);
    redis = summary(await streamLags(client, 'inlineTicks', count, intervalMs));
    await client.sendKillSignal();
    await server.join();
    await Promise.all([client.close(), serverQueues.close()]);
  } finally {
    await ownServer?.stop();
  }

  report({
    bench: 'stream',
    yields: count,
    interval_ms: intervalMs,
    local_inline_p50_ms: inline.p50,
    local_inline_p99_ms: inline.p99,
    local_threads_p50_ms: threads.p50,
    local_threads_p99_ms: threads.p99,
    raw_local_p50_ms: rawLocalLags.p50,
    raw_local_p99_ms: rawLocalLags.p99,
    redis_p50_ms: redis.p50,
    redis_p99_ms: redis.p99,
    raw_redis_p50_ms: rawRedisLags.p50,
    raw_redis_p99_ms: rawRedisLags.p99,
    meets_target: inline.p50 <= 1 && threads.p50 <= 1 && redis.p50 <= 3,
  });
}
