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
  const bareSend = async () => void pending.push(pool.run(null));
  const bareReceive = async () => void (await pending.shift());
  await closedLoopThroughput(1000, window, bareSend, bareReceive);
  const bareTasksPerS = await closedLoopThroughput(total, window, bareSend, bareReceive);
  const bareLatencies = await sequentialLatencies(latencyCount, async () => void (await pool.run(null)));
  await pool.close();

  // Through colmena: thinker → LocalQueues → task server → thread → back.
  const methods = { noop: moduleMethod(new URL('./noop-methods.ts', import.meta.url), 'noop') };
  const queues = new LocalQueues<{ noop: () => void }>();
  const server = new LocalTaskServer(queues, { methods, threads }).start();
  const send = async () => void (await queues.sendInputs('noop', []));
  const receive = async () => void (await queues.getResult());
  await closedLoopThroughput(1000, window, send, receive);
  const tasksPerS = await closedLoopThroughput(total, window, send, receive);
  const latencies = await sequentialLatencies(latencyCount, async () => {
    await send();
    await receive();
  });
  await queues.sendKillSignal();
  await server.join();
  await queues.close();

  const p50 = percentile(latencies, 50);
  const bareP50 = percentile(bareLatencies, 50);
  report({
    bench: 'local',
    tasks: total,
    window,
    threads,
    tasks_per_s: Math.round(tasksPerS),
    p50_ms: round(p50),
    p99_ms: round(percentile(latencies, 99)),
    bare_tasks_per_s: Math.round(bareTasksPerS),
    bare_p50_ms: round(bareP50),
    throughput_ratio: round(tasksPerS / bareTasksPerS),
    p50_ratio: round(p50 / bareP50),
  });
}
