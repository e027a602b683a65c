import { RedisQueues } from '../../src/queue/redis.js';
import { redisFixture } from '../helpers/redis.js';
import type { MethodMap } from '../../src/models/method-types.js';
import type { QueuesOptions } from '../../src/queue/base.js';
import { queueContract } from './contract.js';

const redis = redisFixture();

queueContract({
  name: 'redis',
  setup: async () => void (await redis.start()),
  teardown: () => redis.stop(),
  pair<M extends MethodMap>(options?: QueuesOptions) {
    const prefix = redis.prefix();
    const client = new RedisQueues<M>({ ...options, url: redis.url, prefix, role: 'client' });
    const server = new RedisQueues<M>({ ...options, url: redis.url, prefix, role: 'server' });
    return { client, server, close: async () => void (await Promise.all([client.close(), server.close()])) };
  },
});
