/**
 * The one place that knows how to reach Redis: the default URL, checking a URL, hiding its
 * password, opening an ioredis client, waiting until it is usable, and turning whatever went wrong
 * into one error type ({@link RedisConnectionError}) that names the URL (password redacted) and
 * what to check. Every Redis user in the library (queues, BullMQ, stores, dashboard) goes through
 * here, so a wrong password reads the same everywhere.
 *
 * Only modules behind `colmena/redis` and `colmena/bullmq` import this file, so `import 'colmena'`
 * never loads ioredis.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { ColmenaError, InvalidArgumentError } from './errors.js';
import type { Logger } from './logging.js';
import type { StopSignal } from './stop-signal.js';

/** @default for every Redis `url` option in the library and for `--redis` on the command line */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** How long {@link waitForRedis} (and so {@link connectRedis}) waits for a usable connection. @default 5000 */
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 5000;

/** What went wrong, as a stable word callers can branch on (and the CLI can phrase). */
export type RedisProblem =
  /** Nothing listens there (connection refused or reset). */
  | 'unreachable'
  /** The host name does not resolve. */
  | 'host-not-found'
  /** Redis refused the password or user name given. */
  | 'wrong-password'
  /** Redis wants a password and none was given. */
  | 'password-required'
  /** The TLS handshake failed or never completed (often: `rediss://` to a plain port). */
  | 'tls'
  /** No answer in time. */
  | 'timeout'
  | 'other';

/** Redis could not be reached or refused us. The message names the redacted URL and what to check. */
export class RedisConnectionError extends ColmenaError {
  /** The URL with its password replaced by `***`. */
  readonly url: string;
  readonly problem: RedisProblem;
  constructor(url: string, problem: RedisProblem, message: string, options?: { cause?: unknown }) {
    super('CONNECTION', message, options);
    this.url = redactRedisUrl(url);
    this.problem = problem;
  }
}

/**
 * Check a Redis URL given as option `option` and return it.
 * @throws TypeError naming the option, the shape expected and (redacted) what was given.
 */
export function checkRedisUrl(url: unknown, option = 'url'): string {
  if (typeof url !== 'string' || !/^rediss?:\/\/[^/\s]/.test(url)) {
    const given = typeof url === 'string' ? `'${redactRedisUrl(url)}'` : String(url);
    throw new InvalidArgumentError(
      `${option} must look like redis://[[user]:password@]host:port[/db] (or rediss:// for TLS), got ${given}`,
    );
  }
  try {
    new URL(url);
  } catch {
    throw new InvalidArgumentError(`${option} is not a valid URL: '${redactRedisUrl(url)}'. Percent-encode special characters in the password.`);
  }
  return url;
}

/** The URL with any password replaced by `***`, for logs, errors and startup lines. */
export function redactRedisUrl(url: string): string {
  // Any scheme: a mistyped one (http://:pw@...) must not leak the password in the error about it.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_match, scheme: string, auth: string) => {
    const user = auth.includes(':') ? auth.slice(0, auth.indexOf(':')) : auth;
    return `${scheme}${user}:***@`;
  });
}

/** `host:port` of a Redis URL, for messages. */
function hostPort(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return redactRedisUrl(url);
  }
}

/**
 * Turn any error ioredis gave (or a timeout) into a {@link RedisConnectionError} that says what to
 * check. An error that already is one is returned as it is.
 */
export function describeRedisFailure(error: unknown, url: string, timeoutMs?: number): RedisConnectionError {
  if (error instanceof RedisConnectionError) return error;
  const shown = redactRedisUrl(url);
  const err = error as NodeJS.ErrnoException | undefined;
  const text = `${err?.message ?? String(error)}`;
  const code = err?.code ?? '';
  const tls = url.startsWith('rediss://');
  const options = { cause: error };
  if (/WRONGPASS|invalid password|invalid username-password/i.test(text)) {
    return new RedisConnectionError(
      url,
      'wrong-password',
      `Redis at ${shown} refused the password (wrong password or user name). Check the password given in the URL or in redisOptions.password.`,
      options,
    );
  }
  if (/NOAUTH|Authentication required/i.test(text)) {
    return new RedisConnectionError(
      url,
      'password-required',
      `Redis at ${shown} wants a password and none was given. Put it in the URL (redis://:PASSWORD@${hostPort(url)}) or in redisOptions.password.`,
      options,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new RedisConnectionError(url, 'host-not-found', `Cannot reach Redis at ${shown}: host name not found. Check the host in the URL.`, options);
  }
  if (/SSL|TLS|certificate|EPROTO|wrong version number|self.signed/i.test(text + code) || (tls && /ETIMEDOUT|ECONNRESET|closed/i.test(text + code))) {
    return new RedisConnectionError(
      url,
      'tls',
      `TLS to Redis at ${shown} failed (${text}). Is that port serving TLS? Use redis:// for a plain port, or check the certificates in redisOptions.tls.`,
      options,
    );
  }
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new RedisConnectionError(
      url,
      'unreachable',
      `Cannot reach Redis at ${shown} (${code}). Is redis-server running there, and are the host and port right?`,
      options,
    );
  }
  if (code === 'ETIMEDOUT' || timeoutMs !== undefined) {
    return new RedisConnectionError(
      url,
      'timeout',
      `Redis at ${shown} did not answer${timeoutMs === undefined ? '' : ` within ${timeoutMs} ms`}. Is the host reachable, and is that port a Redis server?`,
      options,
    );
  }
  return new RedisConnectionError(url, 'other', `Redis at ${shown}: ${text}`, options);
}

/** Problems that waiting will not fix. */
function isPermanent(problem: RedisProblem): boolean {
  return problem === 'wrong-password' || problem === 'password-required' || problem === 'host-not-found';
}

export interface OpenRedisOptions {
  /** @default {@link DEFAULT_REDIS_URL} */
  url?: string;
  /** Shown as the connection's client name (`CLIENT LIST`) and in log lines. */
  purpose: string;
  /**
   * A connection that runs blocking pops: its commands wait through reconnects instead of failing
   * after a few retries.
   * @default false
   */
  blocking?: boolean;
  /** Extra ioredis options (TLS certificates, `password`, timeouts); they win over ours. */
  redisOptions?: RedisOptions;
  /** Where connection problems are logged (rate-limited); none when absent. */
  logger?: Logger;
  /** Do not open the socket until the first command or `connect()`. @default false */
  lazyConnect?: boolean;
}

/**
 * Open an ioredis client with the library's settings. Connection errors are logged (once per kind
 * of problem, then at most one summary line every 30 s, and once when it is back) in the words of
 * {@link describeRedisFailure}; they are never thrown from an event.
 */
export function openRedis(options: OpenRedisOptions): Redis {
  const url = checkRedisUrl(options.url ?? DEFAULT_REDIS_URL);
  const redis = new Redis(url, {
    lazyConnect: options.lazyConnect ?? false,
    // Auto-pipelining defers each write to a later tick: it doubled the p50 round trip here.
    enableAutoPipelining: false,
    maxRetriesPerRequest: options.blocking ? null : 20,
    // A TLS handshake to a plain port never completes: give up on a try quickly.
    connectTimeout: 3000,
    connectionName: `colmena-${options.purpose}`,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    ...options.redisOptions,
  });
  attachProblemLog(redis, url, options.purpose, options.logger);
  return redis;
}

/** Interval between summary lines while the same problem persists. */
const PROBLEM_LOG_INTERVAL_MS = 30_000;

function attachProblemLog(redis: Redis, url: string, purpose: string, logger: Logger | undefined): void {
  let lastProblem: RedisProblem | null = null;
  let lastLoggedAt = 0;
  let suppressed = 0;
  redis.on('error', (error: unknown) => {
    if (!logger) return;
    const described = describeRedisFailure(error, url);
    const now = Date.now();
    if (described.problem !== lastProblem || now - lastLoggedAt >= PROBLEM_LOG_INTERVAL_MS) {
      logger.warn({ url: described.url, purpose, problem: described.problem, repeats: suppressed }, `waiting for Redis: ${described.message}`);
      lastProblem = described.problem;
      lastLoggedAt = now;
      suppressed = 0;
    } else {
      suppressed++;
    }
  });
  redis.on('ready', () => {
    if (lastProblem !== null) logger?.info({ url: redactRedisUrl(url), purpose }, 'Redis is reachable again');
    lastProblem = null;
    suppressed = 0;
  });
}

export interface WaitForRedisOptions {
  /** @default {@link DEFAULT_REDIS_CONNECT_TIMEOUT_MS} */
  timeoutMs?: number;
  signal?: StopSignal;
}

/**
 * Resolve once the client is ready for commands. Rejects with a {@link RedisConnectionError} at
 * once for a problem waiting cannot fix (wrong or missing password, unknown host), and after
 * `timeoutMs` for any other (naming the last problem seen).
 */
export function waitForRedis(redis: Redis, url: string, options: WaitForRedisOptions = {}): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  const timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS;
  return new Promise<void>((resolve, reject) => {
    let last: RedisConnectionError | null = null;
    const done = (error?: unknown): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      redis.off('end', onEnd);
      options.signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = (): void => done();
    const onError = (error: unknown): void => {
      last = describeRedisFailure(error, url);
      if (isPermanent(last.problem)) done(last);
    };
    const onEnd = (): void => done(last ?? new RedisConnectionError(url, 'other', `The connection to Redis at ${redactRedisUrl(url)} was closed`));
    const onAbort = (): void => done(options.signal!.reason);
    const timer = setTimeout(() => {
      const cause = last ?? undefined;
      done(
        last && last.problem !== 'other'
          ? new RedisConnectionError(url, last.problem, `${last.message} (still failing after ${timeoutMs} ms)`, { cause })
          : describeRedisFailure(last ?? new Error('no answer'), url, timeoutMs),
      );
    }, timeoutMs);
    redis.on('ready', onReady);
    redis.on('error', onError);
    redis.on('end', onEnd);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (redis.status === 'wait') redis.connect().catch(() => {});
  });
}

/** {@link openRedis} and {@link waitForRedis} in one: a ready client, or a clear error (and nothing left open). */
export async function connectRedis(options: OpenRedisOptions & WaitForRedisOptions): Promise<Redis> {
  const redis = openRedis(options);
  try {
    await waitForRedis(redis, options.url ?? DEFAULT_REDIS_URL, options);
    return redis;
  } catch (error) {
    redis.disconnect();
    throw error;
  }
}
