/**
 * `npm run bench -- redis`: no-op tasks through RedisQueues (thinker and task server on separate
 * connections, as in separate processes), against a bare ioredis LPUSH/BRPOP ping-pong through
 * the same server in the same run. Starts its own redis-server unless REDIS_URL is set. Measures
 * the built package (dist/, rebuilt first if stale), as users run it.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { Redis } from 'ioredis';
import type { RedisQueues } from '../src/queue/redis.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import {
  closedLoopThroughput,
  ensureBuilt,
  flag,
  importBuilt,
  median,
  option,
  percentile,
  processCpuMs,
  report,
  round,
  sequentialLatencies,
  startProcess,
} from './lib.js';

type Built = Awaited<ReturnType<typeof importBuilt>>;

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
 * The bare batched limit of "all sent at once", with messages of the sizes ours have: one RPUSH of
 * every request-sized element; an echo side (in a process of its own, as our task server is) that
 * pops in batches (BLMPOP COUNT) and pushes a result-sized element for each in one RPUSH; a client
 * that pops in batches. Same keys, pushes and pops as ours, no task work and no encoding.
 */
async function bareAtOnce(url: string, total: number, requestBytes: number, resultBytes: number): Promise<number> {
  const key = `bench-${randomUUID()}`;
  const echo = await startProcess(['bench/redis-bare-echo.ts', url, key, String(total), String(resultBytes)]);
  const [client, clientPop] = [0, 1].map(() => new Redis(url));
  const request = 'x'.repeat(requestBytes);
  const exited = once(echo, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  // An echo side that dies part-way (seen once on a loaded machine) must fail the run, not leave it
  // blocked on results that will never come.
  const died = exited.then(([code, signal]) => {
    if (code !== 0) throw new Error(`bench/redis-bare-echo.ts died (code ${code}, signal ${signal}) before echoing ${total} messages`);
    return new Promise<never>(() => {}); // a clean exit comes after the last echo: the loop below ends the race
  });
  try {
    const started = performance.now();
    await client!.rpush(`${key}_a`, ...Array.from({ length: total }, () => request));
    const receiving = (async () => {
      for (let received = 0; received < total; ) {
        const [, items] = (await clientPop!.call('BLMPOP', 0, 1, `${key}_b`, 'LEFT', 'COUNT', 256)) as [string, string[]];
        received += items.length;
      }
    })();
    // Each is also awaited through the race; these only keep a loser's later rejection quiet.
    receiving.catch(() => {});
    died.catch(() => {});
    await Promise.race([receiving, died]);
    const rate = total / ((performance.now() - started) / 1000);
    await exited;
    return rate;
  } finally {
    for (const connection of [client, clientPop]) connection!.disconnect();
  }
}

/** The sizes of one no-op task's request element and result body, to give the bare loop the same. */
async function messageSizes(built: Built, thinker: RedisQueues<{ noop: () => void }>): Promise<{ request: number; result: number }> {
  await thinker.sendInputs('noop', []);
  const result = await thinker.getResult();
  const request = built.colmena.Result.create({ method: 'noop', topic: 'default' });
  // A request element is its topic, then the body.
  return { request: Buffer.byteLength(request.topic + built.redis.encodeWireMessage(request)), result: Buffer.byteLength(built.redis.encodeWireMessage(result)) };
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
  ensureBuilt();
  const built = await importBuilt();
  const { RedisQueues } = built.redis;
  const { LocalTaskServer, inlineMethod } = built.colmena;
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
    await client.sendKillSignal();
    await server.join();
    await Promise.all([client.close(), serverQueues.close()]);

    // All at once, with the task server in a process of its own (as users run it): inline, then
    // on 2 worker threads. Rounds of ours and of the bare loop interleave, so drift hits both.
    const atOnceTotal = option(argv, 'at-once', 2000);
    const rounds = option(argv, 'rounds', 5);
    const redisPid = ownServer?.process.pid ?? NaN;
    const atOnce: Record<string, unknown>[] = [];
    for (const executor of ['inline', 'threads']) {
      const atOncePrefix = `bench-${randomUUID()}`;
      const child = await startProcess(['bench/redis-task-server.ts', url, atOncePrefix, executor]);
      const thinker = new RedisQueues<{ noop: () => void }>({ url, prefix: atOncePrefix, role: 'client' });
      const sizes = await messageSizes(built, thinker);
      await oursAtOnce(thinker, atOnceTotal); // warm-up
      const ours: number[] = [];
      const bareBatched: number[] = [];
      // What each process spends per task in our rounds: where the machine's two cores go.
      const pids = { thinker: process.pid, task_server: child.pid!, redis: redisPid };
      const cpuMs = { thinker: 0, task_server: 0, redis: 0 };
      for (let round = 0; round < rounds; round++) {
        const before = Object.values(pids).map(processCpuMs);
        ours.push(await oursAtOnce(thinker, atOnceTotal));
        Object.values(pids).forEach((pid, i) => (cpuMs[Object.keys(pids)[i] as keyof typeof cpuMs] += processCpuMs(pid) - before[i]!));
        bareBatched.push(await bareAtOnce(url, atOnceTotal, sizes.request, sizes.result));
      }
      const cpuUsPerTask = Object.fromEntries(Object.entries(cpuMs).map(([name, ms]) => [name, Math.round((ms * 1000) / (rounds * atOnceTotal))]));
      await thinker.sendKillSignal();
      await once(child, 'exit');
      await thinker.close();
      atOnce.push({
        bench: 'redis',
        mode: 'at-once',
        tasks: atOnceTotal,
        rounds,
        executor: executor === 'threads' ? 'threads (2)' : 'inline',
        server: 'own process',
        request_bytes: sizes.request,
        result_bytes: sizes.result,
        tasks_per_s: Math.round(median(ours)),
        bare_batched_tasks_per_s: Math.round(median(bareBatched)),
        throughput_ratio: round(median(ours) / median(bareBatched)),
        cpu_us_per_task: cpuUsPerTask,
        // What the three processes' CPU allows on this machine's cores: the figure to compare
        // across runs when other work on the machine makes tasks_per_s jump.
        cpu_bound_tasks_per_s: Math.round((availableParallelism() * 1e6) / Object.values(cpuUsPerTask).reduce((sum, us) => sum + us, 0)),
      });
    }

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
    for (const line of atOnce) report(line);
  } finally {
    await ownServer?.stop();
  }
}
