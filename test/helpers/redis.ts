import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { leaseKeys } from '../../src/queue/redis-lease.js';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';

/** One redis-server per test file, started on demand and stopped at the end. */
export function redisFixture() {
  let server: RedisServerHandle | null = null;
  let users = 0;
  return {
    async start(): Promise<string> {
      users++;
      server ??= await startRedisServer();
      return server.url;
    },
    async stop(): Promise<void> {
      if (--users === 0 && server) {
        await server.stop();
        server = null;
      }
    },
    get url(): string {
      if (!server) throw new Error('redis fixture not started');
      return server.url;
    },
    /** A key prefix no other test uses. */
    prefix(): string {
      return `test-${randomUUID()}`;
    },
  };
}

/**
 * The requests a task server holds under lease, as Redis sees them, oldest first: those it took in
 * batches (its lease hash, by lease number) and by a blocking move (its processing list).
 */
export async function leasedRequests(redis: Redis, prefix: string, serverId: string): Promise<string[]> {
  const keys = leaseKeys(prefix, serverId);
  const [numbered, moved] = await Promise.all([redis.hgetall(keys.leases), redis.lrange(keys.processing, 0, -1)]);
  const batched = Object.entries(numbered)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, element]) => element);
  return [...batched, ...moved.reverse()];
}
