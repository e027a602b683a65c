import { RedisQueues } from '../../src/queue/redis.js';
import { redisFixture } from '../helpers/redis.js';
import { queueContract } from './contract.js';

const redis = redisFixture();

queueContract({
  name: 'redis',
  setup: async () => void (await redis.start()),
  teardown: () => redis.stop(),
  pair(options) {
    const prefix = redis.prefix();
    const client = new RedisQueues({ ...options, url: redis.url, prefix, role: 'client' });
    const server = new RedisQueues({ ...options, url: redis.url, prefix, role: 'server' });
    return { client, server, close: async () => void (await Promise.all([client.close(), server.close()])) };
  },
});
