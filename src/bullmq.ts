/**
 * `colmena/bullmq`: run tasks on `colmena worker` processes on any number of hosts, through BullMQ
 * on Redis. A subpath of its own, so the core import does not load BullMQ.
 *
 * @example
 * import { BullmqExecutor } from 'colmena/bullmq';
 * const server = new LocalTaskServer(queues, {
 *   methods: { simulate: remoteMethod<typeof simulate>({ executor: 'cpu' }) },
 *   executors: { cpu: new BullmqExecutor('cpu', { url: 'redis://head-node:6379', prefix: 'campaign-7' }) },
 * });
 */
export { BullmqExecutor, type BullmqExecutorOptions } from './task-server/bullmq/executor.js';
export { BullmqWorker, type BullmqWorkerOptions } from './task-server/bullmq/worker.js';
export { type BullmqConnectionOptions, DEFAULT_PREFIX, DEFAULT_REDIS_URL } from './task-server/bullmq/connection.js';
