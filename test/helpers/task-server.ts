import { after, before } from 'node:test';
import type { Result } from '../../src/models/result.js';
import type { ColmenaQueues } from '../../src/queue/base.js';
import type { BaseTaskServer } from '../../src/task-server/base.js';
import { WorkerFleet } from '../fixtures/bullmq-workers.js';
import type { redisFixture } from './redis.js';

/** Stop `server` and close `queues`: the kill signal, the server's join, then the queues; calling it again returns the same promise. */
export function closerOf(queues: ColmenaQueues, server: BaseTaskServer): () => Promise<void> {
  let closing: Promise<void> | null = null;
  return () =>
    (closing ??= (async () => {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    })());
}

/** Run `send` against a started `server` on `queues`, collect `count` results of the default topic, then stop both. */
export async function collectResults<Q extends ColmenaQueues>(
  queues: Q,
  server: BaseTaskServer,
  count: number,
  send: (queues: Q) => Promise<unknown>,
): Promise<Result[]> {
  try {
    await send(queues);
    const results: Result[] = [];
    for (let i = 0; i < count; i++) results.push(await queues.getResult('default', { timeoutMs: 60_000 }));
    return results;
  } finally {
    await closerOf(queues, server)();
  }
}

/**
 * In a `describe` of real `colmena worker` processes: starts redis before, and after kills the
 * fleet, runs the closers in reverse and stops redis.
 */
export function workerSuite(redis: ReturnType<typeof redisFixture>): { fleet: WorkerFleet; closers: (() => Promise<void>)[] } {
  const fleet = new WorkerFleet();
  const closers: (() => Promise<void>)[] = [];
  before(async () => {
    await redis.start();
  });
  after(async () => {
    await fleet.killAll();
    for (const close of closers.reverse()) await close();
    await redis.stop();
  });
  return { fleet, closers };
}
