/** Shared set-up for the thinker tests: real in-process queues and task server, no mocks. */
import { inlineMethod } from '../../src/methods/spec.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

/** Methods served inline on the task server's loop. */
export const methods = {
  square: inlineMethod((x: number) => x * x),
  echo: inlineMethod(<T>(x: T) => x),
  /** Resolves once `ms` milliseconds have passed (a stand-in for a longer computation). */
  sleep: inlineMethod(async (ms: number) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  }),
  train: inlineMethod((data: number[]) => data.reduce((a, b) => a + b, 0)),
};

export type Methods = { [K in keyof typeof methods]: (typeof methods)[K]['fn'] };

export interface Rig {
  queues: LocalQueues<Methods>;
  server: LocalTaskServer;
  /** Stop the task server and close the queues. */
  close(): Promise<void>;
}

/** In-process queues with the given topics and a started task server serving {@link methods}. */
export function rig(topics: string[] = []): Rig {
  const queues = new LocalQueues<Methods>({ topics });
  const server = new LocalTaskServer(queues, { methods });
  server.start();
  return {
    queues,
    server,
    async close() {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    },
  };
}

/** Wait until `condition()` holds, re-checking on each macrotask; fail with `what` after a generous deadline. */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Fail (rather than hang the suite) if `promise` has not settled after `ms`: a hang detector, not a timing assertion. */
export async function withinDeadline<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a promise has settled, checked after letting pending callbacks run. */
export async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}
