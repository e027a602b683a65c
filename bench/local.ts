/**
 * `npm run bench -- local`: no-op tasks through LocalQueues and the thread executor, against a
 * bare piscina no-op measured in the same run.
 */
import { Piscina } from 'piscina';
import { moduleMethod } from '../src/methods/spec.js';
import { LocalQueues } from '../src/queue/local.js';
import { LocalTaskServer } from '../src/task-server/local.js';
import { closedLoopThroughput, flag, option, percentile, report, round, sequentialLatencies } from './lib.js';

export async function main(argv: string[]): Promise<void> {
  const quick = flag(argv, 'quick');
  const total = option(argv, 'tasks', quick ? 5000 : 20_000);
  const latencyCount = option(argv, 'latency-tasks', quick ? 500 : 2000);
  const window = option(argv, 'window', 64);
  const threads = option(argv, 'threads', 2);

  // Bare limit: piscina running a no-op, same thread count and window.
  const pool = new Piscina({ filename: new URL('./noop-worker.ts', import.meta.url).href, minThreads: threads, maxThreads: threads });
  const pending: Promise<unknown>[] = [];
  const bare = {
    send: async () => void pending.push(pool.run(null)),
    receive: async () => void (await pending.shift()),
  };

  // Through colmena: thinker → LocalQueues → task server → thread → back.
  const methods = { noop: moduleMethod(new URL('./noop-methods.ts', import.meta.url), 'noop') };
  const queues = new LocalQueues<{ noop: () => void }>();
  const server = new LocalTaskServer(queues, { methods, threads }).start();
  const ours = {
    send: async () => void (await queues.sendInputs('noop', [])),
    receive: async () => void (await queues.getResult()),
  };

  // Alternate the two in rounds, so a neighbour's load on this shared machine hits both alike.
  const rounds = 4;
  const rates = { bare: [] as number[], ours: [] as number[] };
  const latencies = { bare: [] as number[], ours: [] as number[] };
  for (const path of [bare, ours]) await closedLoopThroughput(1000, window, path.send, path.receive);
  for (let round = 0; round < rounds; round++) {
    for (const [name, path] of [['bare', bare], ['ours', ours]] as const) {
      rates[name].push(await closedLoopThroughput(Math.ceil(total / rounds), window, path.send, path.receive));
      latencies[name].push(
        ...(await sequentialLatencies(Math.ceil(latencyCount / rounds), async () => {
          await path.send();
          await path.receive();
        })),
      );
    }
  }
  // Everything sent at once (the window keeps the server's intake bounded), against piscina given
  // the same batch at once.
  const atOnceTotal = option(argv, 'at-once', 2000);
  const atOnce = { bare: [] as number[], ours: [] as number[] };
  for (let round = 0; round < 3; round++) {
    let started = performance.now();
    await Promise.all(Array.from({ length: atOnceTotal }, () => pool.run(null)));
    atOnce.bare.push(atOnceTotal / ((performance.now() - started) / 1000));
    started = performance.now();
    await Promise.all(Array.from({ length: atOnceTotal }, () => queues.sendInputs('noop', [])));
    for (let i = 0; i < atOnceTotal; i++) await queues.getResult();
    atOnce.ours.push(atOnceTotal / ((performance.now() - started) / 1000));
  }
  await queues.sendKillSignal();
  await server.join();
  await queues.close();
  await pool.close();

  const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);
  const tasksPerS = median(rates.ours);
  const bareTasksPerS = median(rates.bare);
  latencies.ours.sort((a, b) => a - b);
  latencies.bare.sort((a, b) => a - b);
  const bareLatencies = latencies.bare;
  const p50 = percentile(latencies.ours, 50);
  const bareP50 = percentile(bareLatencies, 50);
  report({
    bench: 'local',
    tasks: total,
    window,
    threads,
    tasks_per_s: Math.round(tasksPerS),
    p50_ms: round(p50),
    p99_ms: round(percentile(latencies.ours, 99)),
    bare_tasks_per_s: Math.round(bareTasksPerS),
    bare_p50_ms: round(bareP50),
    throughput_ratio: round(tasksPerS / bareTasksPerS),
    p50_ratio: round(p50 / bareP50),
  });
  report({
    bench: 'local',
    mode: 'at-once',
    tasks: atOnceTotal,
    threads,
    window: server.window,
    tasks_per_s: Math.round(median(atOnce.ours)),
    bare_tasks_per_s: Math.round(median(atOnce.bare)),
    throughput_ratio: round(median(atOnce.ours) / median(atOnce.bare)),
  });
}
