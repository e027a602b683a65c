import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import { InvalidArgumentError, InvalidStateError } from '../../common/errors.js';
import { childLogger, type Logger } from '../../common/logging.js';
import { nowSeconds } from '../../models/clock.js';
import type { ObservedQueues, ObservedThinker, SlotCounter } from '../run-log/observed.js';
import { type CollectTaskServerOptions, type DashboardTaskServer, EventCollector } from './collector.js';
import type { DashboardRecord } from './records.js';
import { DashboardState } from './state.js';

export interface DashboardPublisherOptions {
  /** The campaign's Redis. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** The campaign's key prefix (the queues' `prefix`); events go to `<prefix>_events`. */
  prefix: string;
  /** How often collected events are written, in milliseconds. @default 250 */
  intervalMs?: number;
  /** Batches kept in the stream (Redis trims to about this many). @default 10000 */
  maxBatches?: number;
  /** How often the whole state is saved for dashboards started later, in milliseconds. @default 5000 */
  checkpointIntervalMs?: number;
  /** Free-form description of the campaign, shown on the page. @default {} */
  meta?: Record<string, unknown>;
  /** Batches held while Redis is slow or away; older ones are dropped past this. @default 200 */
  maxPendingBatches?: number;
  redisOptions?: RedisOptions;
  logger?: Logger;
}

/** The stream a campaign publishes its dashboard events to. */
export function eventsKey(prefix: string): string {
  return `${prefix}_events`;
}

/** Where the latest checkpoint of the published state is kept. */
export function checkpointKey(prefix: string): string {
  return `${prefix}_events_checkpoint`;
}

/**
 * Publishes a campaign's events through its Redis, for `colmena dashboard --redis URL --prefix P`
 * to show from anywhere that reaches that Redis.
 *
 * It watches the same events as the run log and the in-process dashboard; listeners only keep the
 * event's object. Every `intervalMs` the batch is appended to the stream `<prefix>_events` as one
 * entry (JSON lines of run-log records, one field `records`), trimmed to about `maxBatches`
 * entries. Every `checkpointIntervalMs` the whole aggregated state is saved to
 * `<prefix>_events_checkpoint` with the id of the last entry it includes, so a dashboard started
 * late shows the whole campaign. A slow or absent Redis never blocks the campaign: batches wait
 * (up to `maxPendingBatches`) and are then dropped, with a warning.
 *
 * Use one publisher per campaign (in the thinker's process).
 *
 * @example
 * const publisher = await DashboardPublisher.open({ url, prefix: queues.prefix });
 * publisher.attachThinker(thinker);
 * await thinker.run();
 * await publisher.close();
 */
export class DashboardPublisher {
  readonly prefix: string;
  readonly #redis: Redis;
  readonly #options: Required<Omit<DashboardPublisherOptions, 'url' | 'redisOptions' | 'logger' | 'meta'>>;
  readonly #logger: Logger;
  readonly #collector = new EventCollector();
  readonly #state = new DashboardState();
  #pending: string[] = [];
  #writing: Promise<void> | null = null;
  #lastId: string | null = null;
  #lastCheckpoint = 0;
  #checkpointedSeq = -1;
  #dropped = 0;
  #timer: NodeJS.Timeout | null = null;
  #closing: Promise<void> | null = null;

  private constructor(options: DashboardPublisherOptions, redis: Redis, logger: Logger) {
    this.prefix = options.prefix;
    this.#redis = redis;
    this.#logger = logger;
    this.#options = {
      prefix: options.prefix,
      intervalMs: options.intervalMs ?? 250,
      maxBatches: options.maxBatches ?? 10_000,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 5000,
      maxPendingBatches: options.maxPendingBatches ?? 200,
    };
  }

  /**
   * Connect to Redis and write the first record.
   * @throws InvalidArgumentError for bad options; the connection error if Redis cannot be reached.
   */
  static async open(options: DashboardPublisherOptions): Promise<DashboardPublisher> {
    if (typeof options?.prefix !== 'string' || options.prefix.length === 0) {
      throw new InvalidArgumentError('DashboardPublisher.open needs the campaign\'s key prefix (the queues\' prefix), e.g. { prefix: queues.prefix }');
    }
    for (const name of ['intervalMs', 'maxBatches', 'checkpointIntervalMs', 'maxPendingBatches'] as const) {
      const value = options[name];
      if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new InvalidArgumentError(`${name} must be a positive number, got ${String(value)}`);
    }
    const url = options.url ?? 'redis://127.0.0.1:6379';
    if (!/^rediss?:\/\//.test(url)) throw new InvalidArgumentError(`Redis url must start with redis:// or rediss://, got '${url}'`);
    const logger = options.logger ?? childLogger('dashboard.publisher');
    // No offline queue: a write while Redis is away fails at once, and the batch waits here instead.
    const redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'colmena-dashboard-publisher', ...options.redisOptions });
    redis.on('error', (error: Error) => logger.debug({ err: error }, 'dashboard publisher: Redis connection error'));
    await redis.connect();
    const publisher = new DashboardPublisher(options, redis, logger);
    publisher.#publish([publisher.#collector.startRecord(options.meta ?? {}, hostname())]);
    publisher.#timer = setInterval(() => publisher.#tick(), publisher.#options.intervalMs);
    publisher.#timer.unref();
    // A busy campaign is taken in between, in small batches, so that what it sends dies young.
    publisher.#collector.onBacklog = () => void setImmediate(() => publisher.#closing === null && publisher.#collect());
    return publisher;
  }

  /** The stream written to. */
  get key(): string {
    return eventsKey(this.prefix);
  }

  /** Batches dropped because Redis could not take them in time. */
  get dropped(): number {
    return this.#dropped;
  }

  attachQueues(queues: ObservedQueues): this {
    this.#assertOpen('attachQueues');
    this.#collector.attachQueues(queues);
    return this;
  }

  attachTaskServer(server: DashboardTaskServer, options: CollectTaskServerOptions = {}): this {
    this.#assertOpen('attachTaskServer');
    this.#collector.attachTaskServer(server, options);
    return this;
  }

  attachThinker(thinker: ObservedThinker): this {
    this.#assertOpen('attachThinker');
    this.#collector.attachThinker(thinker);
    return this;
  }

  attachResourceCounter(counter: SlotCounter): this {
    this.#assertOpen('attachResourceCounter');
    this.#collector.attachResourceCounter(counter);
    return this;
  }

  recordValue(name: string, value: number): void {
    this.#assertOpen('recordValue');
    this.#collector.recordValue(name, value);
  }

  /** Write what is collected now and resolve once Redis has it (and a checkpoint, if one is due). */
  async flush(): Promise<void> {
    this.#tick();
    while (this.#writing) await this.#writing;
  }

  /** Detach, write the last batch, an `end` record and a final checkpoint, and disconnect. Safe to call more than once. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer !== null) clearInterval(this.#timer);
      this.#collector.detach();
      this.#publish([...this.#collector.drain(), { type: 'end', t: nowSeconds() }]);
      this.#lastCheckpoint = 0;
      while (this.#writing) await this.#writing;
      await this.#redis.quit().catch(() => this.#redis.disconnect());
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #tick(): void {
    this.#collect();
    if (this.#writing === null) this.#write();
  }

  /** Take what the collector holds into the state and the next write (no I/O). */
  #collect(): void {
    try {
      const lines: string[] = [];
      const records = this.#collector.drain(lines);
      if (records.length > 0) this.#take(records, lines);
    } catch (error) {
      this.#logger.error({ err: error }, 'the dashboard publisher could not take a batch');
    }
  }

  #take(records: DashboardRecord[], lines: string[] = records.map((r) => JSON.stringify(r))): void {
    this.#state.ingest(records);
    this.#pending.push(lines.join('\n'));
    this.#trimPending();
  }

  #publish(records: DashboardRecord[]): void {
    this.#take(records);
    if (this.#writing === null) this.#write();
  }

  #trimPending(): void {
    const excess = this.#pending.length - this.#options.maxPendingBatches;
    if (excess <= 0) return;
    this.#pending.splice(0, excess);
    if (this.#dropped === 0) this.#logger.warn({ key: this.key }, 'Redis is not keeping up with the dashboard events; dropping the oldest batches');
    this.#dropped += excess;
  }

  /**
   * Write pending batches one XADD at a time; then a checkpoint when due and nothing is pending.
   * Batches taken during the checkpoint are written after it: close() adds its `end` record at
   * any moment and relies on this write to carry it.
   */
  #write(): void {
    this.#writing = (async () => {
      do {
        while (this.#pending.length > 0) {
          const batches = this.#pending.splice(0);
          try {
            this.#lastId = await this.#redis.xadd(this.key, 'MAXLEN', '~', String(this.#options.maxBatches), '*', 'records', batches.join('\n'));
          } catch (error) {
            this.#logger.debug({ err: error }, 'dashboard publisher: a batch waits for Redis');
            this.#pending.unshift(...batches);
            this.#trimPending();
            return;
          }
        }
        await this.#checkpoint();
      } while (this.#pending.length > 0);
    })().finally(() => (this.#writing = null));
  }

  async #checkpoint(): Promise<void> {
    const now = Date.now();
    const seq = this.#state.seq;
    if (this.#lastId === null || seq === this.#checkpointedSeq || now - this.#lastCheckpoint < this.#options.checkpointIntervalMs) return;
    try {
      await this.#redis.set(checkpointKey(this.prefix), JSON.stringify({ id: this.#lastId, state: this.#state.toCheckpoint() }));
      this.#lastCheckpoint = now;
      this.#checkpointedSeq = seq;
    } catch (error) {
      this.#logger.debug({ err: error }, 'dashboard publisher: could not save a checkpoint');
    }
  }

  #assertOpen(operation: string): void {
    if (this.#closing !== null) throw new InvalidStateError(`${operation}() on a closed dashboard publisher (${this.key})`);
  }
}
