/**
 * `colmena/redis`: everything that talks to Redis — the queues that speak Python Colmena's wire
 * format, the Redis object store, the wire codec itself, and the dashboard's publisher and feed.
 * A subpath of its own so that `import 'colmena'` never loads ioredis or zod.
 *
 * @example
 * import { RedisQueues, RedisStore } from 'colmena/redis';
 * const queues = new RedisQueues({ url: 'redis://head-node:6379', prefix: 'campaign-7', topics: ['sim'] });
 */
export { RedisQueues, type RedisQueuesOptions } from './queue/redis.js';
export { RedisStore, type RedisStoreOptions } from './proxy/redis-store.js';
export { decodeWireMessage, encodeWireMessage } from './models/wire.js';
export { DashboardPublisher, type DashboardPublisherOptions } from './monitor/dashboard/publisher.js';
export { RedisFeed, type RedisFeedOptions } from './monitor/dashboard/redis-feed.js';
