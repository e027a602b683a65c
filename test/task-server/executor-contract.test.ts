/**
 * Every executor through the one contract: inline, worker threads, child processes, and BullMQ
 * with real `colmena worker` processes (which get the suite's file and Redis stores as configured
 * stores, as a deployment would give them).
 */
import { randomUUID } from 'node:crypto';
import type { ObjectStore } from '../../src/proxy/store.js';
import { BullmqExecutor } from '../../src/task-server/bullmq/executor.js';
import { WorkerFleet } from '../fixtures/bullmq-workers.js';
import { CONTRACT_METHODS, executorContract } from './executor-contract.js';
import { fileURLToPath } from 'node:url';

process.env.COLMENA_LOG_LEVEL ??= 'error';

executorContract({ name: 'inline' });
executorContract({ name: 'threads' });
executorContract({ name: 'processes' });

const fleet = new WorkerFleet();
const prefix = `contract-${randomUUID()}`;
executorContract({
  name: 'bullmq',
  async before({ redisUrl, stores }) {
    const env = { COLMENA_STORES: JSON.stringify(stores.flatMap((store: ObjectStore) => store.config() ?? [])) };
    const spawn = () => fleet.spawn({ url: redisUrl, prefix, executor: 'bullmq', methods: fileURLToPath(CONTRACT_METHODS), concurrency: 2, env });
    await Promise.all([spawn(), spawn()]);
  },
  executor: ({ redisUrl }) => new BullmqExecutor('bullmq', { url: redisUrl, prefix }),
  after: () => fleet.killAll(),
});
