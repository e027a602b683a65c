/**
 * What the BullMQ executor (task server side) and `colmena worker` (worker side) must agree on:
 * where Redis is, which key prefix the campaign uses, and what a queue may be called.
 */
import type { ConnectionOptions } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { checkRedisUrl, DEFAULT_REDIS_URL, RedisConnectionError, type RedisProblem, redactRedisUrl, waitForRedis } from '../../common/redis-connection.js';
import { InvalidArgumentError } from '../../common/errors.js';

// The default URL, the URL check and redaction are the library's one Redis connection module's.
export { DEFAULT_REDIS_URL } from '../../common/redis-connection.js';

/** @default for every `prefix` option: one campaign per Redis. Give each campaign its own. */
export const DEFAULT_PREFIX = 'colmena';

export interface BullmqConnectionOptions {
  /**
   * `redis://[[user]:password@]host:port[/db]`, or `rediss://` for TLS.
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * Prefix of every BullMQ key. Campaigns sharing a Redis never see each other's tasks as long as
   * their prefixes differ; the task server and its workers must use the same one.
   * @default 'colmena'
   */
  prefix?: string;
  /** Extra ioredis options: TLS certificates (`tls: { ca }`), `password`, `username`, timeouts. */
  redisOptions?: RedisOptions;
}

export interface ResolvedConnection {
  url: string;
  prefix: string;
  redisOptions: RedisOptions;
}

/** Check and fill connection options once, naming what is wrong. */
export function resolveConnection(options: BullmqConnectionOptions, owner: string): ResolvedConnection {
  let url: string;
  try {
    url = checkRedisUrl(options.url ?? DEFAULT_REDIS_URL, `${owner} url`);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new InvalidArgumentError(`${owner}: prefix must be a non-empty string, got '${String(prefix)}'`);
  }
  return { url, prefix, redisOptions: options.redisOptions ?? {} };
}

/** BullMQ keys are `<prefix>:<queue>:...`, so a queue name cannot hold a colon. */
export function checkQueueName(name: string, owner: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new InvalidArgumentError(
      `${owner}: the executor name '${String(name)}' is also the BullMQ queue name, so it may only use letters, digits, '_', '.' and '-'`,
    );
  }
  return name;
}

/** The URL with any password replaced, for logs and startup lines. */
export const redactUrl = redactRedisUrl;

/** Connection options for a BullMQ Queue, QueueEvents or Worker (each opens its own connections). */
export function bullmqConnection(connection: ResolvedConnection): ConnectionOptions {
  // BullMQ hands these to ioredis as they are; its own type is only narrower (no null retryStrategy).
  return { url: connection.url, ...connection.redisOptions } as ConnectionOptions;
}

/** Pub/sub channel on which a task server asks the workers of a queue to stop a running task. */
export function cancelChannel(prefix: string, queue: string): string {
  return `${prefix}:${queue}:colmena-cancel`;
}

/** A request to stop one running job, published on {@link cancelChannel}. */
export interface CancelMessage {
  jobId: string;
  reason: 'timeout' | 'cancelled';
  message: string;
}

/** Problems that waiting cannot fix: reported at once instead of waited through. */
const HOPELESS: ReadonlySet<RedisProblem> = new Set(['wrong-password', 'password-required', 'host-not-found', 'tls']);

/**
 * Wait until `redis` is usable. A wrong or missing password, an unknown host or a TLS failure
 * rejects at once with a {@link RedisConnectionError} saying so; any other problem (Redis down,
 * restarting) is waited through, calling `onWaiting` about every `roundMs` with what is wrong.
 * `stop` rejecting ends the wait.
 */
export async function untilRedisUsable(
  redis: Redis,
  url: string,
  options: { stop: Promise<never>; onWaiting?: (problem: RedisConnectionError) => void; roundMs?: number },
): Promise<void> {
  for (;;) {
    try {
      return await Promise.race([waitForRedis(redis, url, { timeoutMs: options.roundMs ?? 2000 }), options.stop]);
    } catch (error) {
      // Anything else (the stop, a bug) ends the wait as it is.
      if (!(error instanceof RedisConnectionError) || HOPELESS.has(error.problem)) throw error;
      options.onWaiting?.(error);
    }
  }
}
