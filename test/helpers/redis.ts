import { randomUUID } from 'node:crypto';
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
