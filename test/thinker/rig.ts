/** Shared set-up for the thinker tests: real in-process queues and task server, no mocks. */
import { inlineMethod, type MethodsOf } from '../../src/methods/spec.js';
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

export type Methods = MethodsOf<typeof methods>;

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
