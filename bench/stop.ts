/**
 * `npm run bench -- stop`: how long after its deadline a timed-out task's result reaches the
 * thinker, and how long after `cancel()` a cancelled one's does, on each executor (the target is
 * under 100 ms). Executables use /bin/sleep.
 */
import { ExecutableMethod } from '../src/methods/executable.js';
import { inlineMethod, type MethodsOf, moduleMethod } from '../src/methods/spec.js';
import { LocalQueues } from '../src/queue/local.js';
import { LocalTaskServer } from '../src/task-server/local.js';
import { flag, option, percentile, report, round } from './lib.js';

const SPIN = new URL('../test/fixtures/methods.ts', import.meta.url);

export async function main(argv: string[]): Promise<void> {
  const rounds = option(argv, 'rounds', flag(argv, 'quick') ? 5 : 20);
  const timeoutMs = 200;
  const methods = {
    threads: moduleMethod<(ms: number) => number>(SPIN, 'spin', { executor: 'threads' }),
    processes: moduleMethod<(ms: number) => number>(SPIN, 'spin', { executor: 'processes' }),
    executable: inlineMethod(new ExecutableMethod<[], string>({ command: ['/bin/sleep', '600'] })),
  };
  const queues = new LocalQueues<MethodsOf<typeof methods>>();
  const server = new LocalTaskServer(queues, { methods, threads: 2, processes: 2 }).start();
  const line: Record<string, unknown> = { bench: 'stop', rounds, timeout_ms: timeoutMs };
  for (const method of ['threads', 'processes', 'executable'] as const) {
    const args = (method === 'executable' ? [] : [600_000]) as [number];
    const lateMs: number[] = [];
    const cancelMs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      await queues.sendInputs(method, args, { timeoutMs });
      const timedOut = await queues.getResult();
      // Past the deadline: from when the server started the clock to when the thinker had the result.
      lateMs.push((timedOut.timestamp.resultReceived - timedOut.timestamp.startTaskSubmission) * 1000 - timeoutMs);

      const id = await queues.sendInputs(method, args);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const asked = performance.now();
      await queues.cancel(id);
      await queues.getResult();
      cancelMs.push(performance.now() - asked);
    }
    lateMs.sort((a, b) => a - b);
    cancelMs.sort((a, b) => a - b);
    line[`${method}_timeout_late_p50_ms`] = round(percentile(lateMs, 50), 1);
    line[`${method}_timeout_late_max_ms`] = round(lateMs.at(-1)!, 1);
    line[`${method}_cancel_p50_ms`] = round(percentile(cancelMs, 50), 1);
    line[`${method}_cancel_max_ms`] = round(cancelMs.at(-1)!, 1);
  }
  await queues.sendKillSignal();
  await server.join();
  await queues.close();
  report(line);
}
