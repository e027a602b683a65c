import type { Redis, RedisOptions } from 'ioredis';
import { connectRedis } from '../../common/redis-connection.js';
import { InvalidArgumentError } from '../../common/errors.js';
import { childLogger, type Logger } from '../../common/logging.js';
import { parseRunLogLine } from '../run-log/line-parser.js';
import type { DashboardCheckpoint } from './checkpoint.js';
import type { Dashboard } from './dashboard.js';
import { checkpointKey, eventsKey } from './publisher.js';
import type { DashboardRecord } from './records.js';
import { DashboardState } from './state.js';

export interface RedisFeedOptions {
  /** The campaign's Redis. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** The campaign's key prefix (what its {@link DashboardPublisher} was opened with). */
  prefix: string;
  /** Entries read per round trip. @default 200 */
  count?: number;
  redisOptions?: RedisOptions;
  logger?: Logger;
}

/**
 * Feeds a {@link Dashboard} from a campaign publishing through Redis: the latest checkpoint
 * first (if there is one), then every entry of `<prefix>_events` after it, as they come. Lines
 * that are not valid records are skipped with a warning (the stream is read, never trusted).
 */
export class RedisFeed {
  readonly prefix: string;
  readonly #redis: Redis;
  readonly #dashboard: Dashboard;
  readonly #count: number;
  readonly #logger: Logger;
  #lastId = '0-0';
  #entries = 0;
  #skipped = 0;
  #closing = false;
  #loop: Promise<void> | null = null;

  private constructor(dashboard: Dashboard, redis: Redis, options: RedisFeedOptions, logger: Logger) {
    this.prefix = options.prefix;
    this.#dashboard = dashboard;
    this.#redis = redis;
    this.#count = options.count ?? 200;
    this.#logger = logger;
  }

  /**
   * Connect, load the checkpoint and what follows it, and keep following.
   * @throws the connection error if Redis cannot be reached.
   */
  static async open(dashboard: Dashboard, options: RedisFeedOptions): Promise<RedisFeed> {
    if (typeof options?.prefix !== 'string' || options.prefix.length === 0) {
      throw new InvalidArgumentError("RedisFeed needs the campaign's key prefix, e.g. { prefix: 'my-campaign' }");
    }
    const url = options.url ?? 'redis://127.0.0.1:6379';
    if (!/^rediss?:\/\//.test(url)) throw new InvalidArgumentError(`Redis url must start with redis:// or rediss://, got '${url}'`);
    const logger = options.logger ?? childLogger('dashboard.feed');
    // Through the one connection module: a missing or wrong password is reported as such at once.
    const redis = await connectRedis({ url, purpose: 'dashboard-feed', blocking: true, lazyConnect: true, ...(options.redisOptions ? { redisOptions: options.redisOptions } : {}) });
    redis.on('error', (error: Error) => logger.debug({ err: error }, 'dashboard feed: Redis connection error'));
    const feed = new RedisFeed(dashboard, redis, options, logger);
    try {
      await feed.#restore();
      // Catch up with what is already there before resolving, so the first view is complete.
      while (await feed.#read(false)) {}
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    feed.#loop = feed.#follow();
    return feed;
  }

  /** Stream entries taken so far. */
  get entries(): number {
    return this.#entries;
  }

  /** Lines skipped as invalid. */
  get skipped(): number {
    return this.#skipped;
  }

  /** For `await using`: the same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Stop following. */
  async close(): Promise<void> {
    if (this.#closing) return this.#loop ?? undefined;
    this.#closing = true;
    this.#redis.disconnect();
    await this.#loop;
  }

  async #restore(): Promise<void> {
    const saved = await this.#redis.get(checkpointKey(this.prefix));
    if (saved === null) return;
    try {
      const { id, state } = JSON.parse(saved) as { id: string; state: DashboardCheckpoint };
      if (typeof id !== 'string' || state?.version !== 1) throw new Error('unknown checkpoint format');
      this.#dashboard.replaceState(DashboardState.fromCheckpoint(state));
      this.#lastId = id;
    } catch (error) {
      this.#logger.warn({ err: error }, 'the dashboard checkpoint could not be read; replaying the event stream instead');
    }
  }

  async #follow(): Promise<void> {
    while (!this.#closing) {
      try {
        await this.#read(true);
      } catch (error) {
        if (this.#closing) return;
        this.#logger.warn({ err: error }, 'reading the dashboard events failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Read one round of entries (blocking until there are some when `block`); whether any came. */
  async #read(block: boolean): Promise<boolean> {
    const key = eventsKey(this.prefix);
    const reply = block
      ? await this.#redis.xread('COUNT', this.#count, 'BLOCK', 0, 'STREAMS', key, this.#lastId)
      : await this.#redis.xread('COUNT', this.#count, 'STREAMS', key, this.#lastId);
    const entries = reply?.[0]?.[1] ?? [];
    for (const [id, fields] of entries) {
      this.#lastId = id;
      this.#entries++;
      const index = fields.indexOf('records');
      const text = index >= 0 && index % 2 === 0 ? fields[index + 1] : undefined;
      if (text !== undefined) this.#dashboard.ingest(this.#parse(text, id));
    }
    return entries.length > 0;
  }

  #parse(text: string, id: string): DashboardRecord[] {
    const records: DashboardRecord[] = [];
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      const record = parseLine(line);
      if (typeof record === 'string') {
        if (this.#skipped++ < 5) this.#logger.warn({ entry: id, problem: record }, 'skipped an invalid dashboard event');
      } else {
        records.push(record);
      }
    }
    return records;
  }
}

/** A record, or what is wrong with the line. */
export function parseLine(line: string): DashboardRecord | string {
  if (line.startsWith('{"type":"stack"') || line.startsWith('{"type":"load"')) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      return `not JSON: ${(error as Error).message}`;
    }
    const r = value as Record<string, unknown>;
    if (r.type === 'stack' && typeof r.t === 'number' && typeof r.taskId === 'string' && typeof r.stack === 'string') {
      return { type: 'stack', t: r.t, taskId: r.taskId, stack: r.stack };
    }
    if (r.type === 'load' && typeof r.t === 'number' && typeof r.server === 'string' && Number.isSafeInteger(r.inFlight)) {
      return { type: 'load', t: r.t, server: r.server, inFlight: r.inFlight as number };
    }
    return `invalid '${String(r.type)}' record`;
  }
  const parsed = parseRunLogLine(line);
  return 'record' in parsed ? parsed.record : parsed.problem;
}
