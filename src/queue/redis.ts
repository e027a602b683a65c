import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { ColmenaTimeoutError, InvalidMessageError, InvalidStateError, MessageTooLargeError, InvalidArgumentError } from '../common/errors.js';
import { childLogger, type Logger } from '../common/logging.js';
import type { MethodMap } from '../models/method-types.js';
import { Result } from '../models/result.js';
import {
  decodeWireMessage,
  encodeRequestElement,
  encodeWireMessage,
  isKillSignal,
  KILL_SIGNAL_ELEMENT,
  readIdentity,
  splitRequestElement,
} from '../models/wire.js';
import { throwIfAborted, type WaitOptions } from '../common/abort.js';
import { ColmenaQueues, type QueuesOptions, type ServerMessage } from './base.js';

export interface RedisQueuesOptions extends QueuesOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** Prefix of every key; thinker and task server must use the same one. @default a random UUID */
  prefix?: string;
  /** Largest message sent or accepted, in bytes. @default 512 MiB (Redis' own limit) */
  maxMessageBytes?: number;
  /** Extra ioredis options (TLS certificates, timeouts, ...). */
  redisOptions?: RedisOptions;
  logger?: Logger;
}

const DEFAULT_MAX_MESSAGE_BYTES = 512 * 1024 * 1024;
const WAKE = 'wake';

/**
 * Queues over Redis lists, speaking Python Colmena's JSON wire format: `<prefix>_requests` for all
 * requests, `<prefix>_<topic>_result` per topic. A TypeScript thinker can drive a Python Colmena
 * task server through it, and a Python thinker can drive ours.
 *
 * Blocking pops run on their own connections. To interrupt one (stop, abort, close) this object
 * pushes onto a wake-up list of its own that the pop also watches, so no request or result is
 * ever popped and then dropped.
 */
export class RedisQueues<M extends MethodMap = MethodMap> extends ColmenaQueues<M> {
  readonly prefix: string;
  readonly maxMessageBytes: number;
  readonly #url: string;
  readonly #redisOptions: RedisOptions;
  readonly #logger: Logger;
  readonly #instance = randomUUID();
  #commands: Redis | null = null;
  #requestReader: Redis | null = null;
  #resultReader: Redis | null = null;
  #listening: Promise<void> | null = null;
  #closing = false;

  constructor(options: RedisQueuesOptions = {}) {
    super(options);
    this.prefix = options.prefix ?? randomUUID();
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#url = options.url ?? 'redis://127.0.0.1:6379';
    if (!/^rediss?:\/\//.test(this.#url)) {
      throw new InvalidArgumentError(`Redis url must start with redis:// or rediss://, got '${this.#url}'`);
    }
    this.#redisOptions = options.redisOptions ?? {};
    this.#logger = options.logger ?? childLogger('queues.redis');
  }

  /** The request list: one for all topics. */
  get requestKey(): string {
    return `${this.prefix}_requests`;
  }

  /** The result list of a topic. */
  resultKey(topic: string): string {
    return `${this.prefix}_${topic}_result`;
  }

  /** Cancel requests: a list of our own, which Python Colmena's servers never read. */
  get cancelKey(): string {
    return `${this.prefix}_cancel`;
  }

  get #requestWakeKey(): string {
    return `${this.prefix}_wake_${this.#instance}_requests`;
  }

  get #resultWakeKey(): string {
    return `${this.prefix}_wake_${this.#instance}_results`;
  }

  #connect(purpose: string, blocking: boolean): Redis {
    const redis = new Redis(this.#url, {
      lazyConnect: false,
      // Auto-pipelining defers each write to a later tick: it doubled the p50 round trip here.
      enableAutoPipelining: false,
      // Blocking pops must survive reconnects rather than fail after a few retries.
      maxRetriesPerRequest: blocking ? null : 20,
      connectionName: `colmena-${purpose}`,
      ...this.#redisOptions,
    });
    redis.on('error', (error: Error) => {
      if (!this.#closing) this.#logger.warn({ err: error, purpose }, 'Redis connection error');
    });
    return redis;
  }

  get #cmd(): Redis {
    this.#commands ??= this.#connect('commands', false);
    return this.#commands;
  }

  #checkSize(text: string): void {
    // Byte length is at most 3 × UTF-16 length; only measure when it could matter.
    if (text.length * 3 <= this.maxMessageBytes) return;
    const bytes = Buffer.byteLength(text);
    if (bytes > this.maxMessageBytes) throw new MessageTooLargeError(bytes, this.maxMessageBytes);
  }

  // ---- client side ----------------------------------------------------------------------------

  protected override async pushRequest(task: Result): Promise<void> {
    const element = encodeRequestElement(task);
    this.#checkSize(element);
    await this.#cmd.rpush(this.requestKey, element);
  }

  protected override async pushKillSignal(): Promise<void> {
    await this.#cmd.rpush(this.requestKey, KILL_SIGNAL_ELEMENT);
  }

  protected override async pushCancel(taskId: string): Promise<void> {
    await this.#cmd.rpush(this.cancelKey, taskId);
  }

  protected override listenForResults(): void {
    if (this.#listening || this.#closing) return;
    this.#resultReader = this.#connect('results', true);
    this.#listening = this.#listen(this.#resultReader);
  }

  async #listen(reader: Redis): Promise<void> {
    const keys = [...this.topics.map((topic) => this.resultKey(topic)), this.#resultWakeKey];
    while (!this.#closing) {
      let reply: [string, string] | null;
      try {
        reply = await reader.blpop(...keys, 0);
      } catch (error) {
        if (this.#closing) return;
        this.#logger.error({ err: error }, 'reading results failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (!reply || reply[0] === this.#resultWakeKey) continue;
      this.#receiveResult(reply[1]);
    }
  }

  #receiveResult(body: string): void {
    try {
      this.deliver(decodeWireMessage(body));
    } catch (error) {
      // Answer the waiting thinker with a failure rather than leave the task active forever.
      const identity = readIdentity(body);
      if (!identity) {
        this.#logger.error({ err: error, message: body.slice(0, 200) }, 'dropped a malformed result with no readable task id');
        return;
      }
      this.#logger.error({ err: error, taskId: identity.taskId }, 'received a malformed result');
      const result = new Result({ taskId: identity.taskId, method: identity.method, topic: identity.topic });
      const err = error as Error;
      this.deliver(result.fail({ name: err.name, message: err.message, stack: err.stack ?? '', reason: 'invalid-message' }));
    }
  }

  // ---- server side ----------------------------------------------------------------------------

  protected override async popRequest(options: WaitOptions): Promise<ServerMessage> {
    const { signal, timeoutMs } = options;
    throwIfAborted(signal);
    this.#requestReader ??= this.#connect('requests', true);
    const reader = this.#requestReader;
    const wake = (): void => void this.#cmd.rpush(this.#requestWakeKey, WAKE).catch(() => {});
    signal?.addEventListener('abort', wake, { once: true });
    const deadline = timeoutMs === undefined ? undefined : performance.now() + timeoutMs;
    try {
      for (;;) {
        let seconds = 0;
        if (deadline !== undefined) {
          const left = deadline - performance.now();
          if (left <= 0) throw new ColmenaTimeoutError('a task request', timeoutMs!);
          seconds = Math.max(left / 1000, 0.001);
        }
        const reply = await reader.blpop(this.requestKey, this.cancelKey, this.#requestWakeKey, seconds);
        if (reply === null) continue;
        if (reply[0] === this.#requestWakeKey) {
          throwIfAborted(signal);
          if (this.#closing) throw new InvalidStateError('The queues are closed');
          continue;
        }
        if (reply[0] === this.cancelKey) return { kind: 'cancel', taskId: reply[1] };
        return this.#parseRequest(reply[1]);
      }
    } finally {
      signal?.removeEventListener('abort', wake);
    }
  }

  #parseRequest(element: string): ServerMessage {
    if (isKillSignal(element)) return { kind: 'kill' };
    const split = splitRequestElement(element);
    if (!split) {
      return {
        kind: 'malformed',
        error: new InvalidMessageError(`Request has no JSON body (no '{'): ${JSON.stringify(element.slice(0, 80))}`),
        identity: null,
        raw: element,
      };
    }
    try {
      this.#checkSize(split.body);
      const task = decodeWireMessage(split.body);
      if (!split.body.includes('"topic"')) {
        this.#logger.warn({ taskId: task.taskId }, "request has no 'topic' field; answering on topic 'default'");
      }
      return { kind: 'task', task };
    } catch (error) {
      const invalid = error instanceof InvalidMessageError ? error : new InvalidMessageError((error as Error).message, { cause: error });
      return { kind: 'malformed', error: invalid, identity: readIdentity(split.body, split.topic || undefined), raw: element };
    }
  }

  protected override async pushResult(result: Result): Promise<void> {
    const body = encodeWireMessage(result);
    this.#checkSize(body);
    await this.#cmd.rpush(this.resultKey(result.topic), body);
  }

  // ---- housekeeping ---------------------------------------------------------------------------

  protected override async clearChannels(): Promise<void> {
    await this.#cmd.del(this.requestKey, this.cancelKey, ...this.topics.map((topic) => this.resultKey(topic)));
  }

  protected override async closeTransport(): Promise<void> {
    this.#closing = true;
    const connections = [this.#requestReader, this.#resultReader].filter((r): r is Redis => r !== null);
    if (this.#commands) {
      // Wake blocked pops so they return before their connections go.
      await Promise.allSettled([
        this.#commands.rpush(this.#resultWakeKey, WAKE),
        this.#commands.rpush(this.#requestWakeKey, WAKE),
      ]);
      await this.#listening?.catch(() => {});
      await this.#commands.del(this.#resultWakeKey, this.#requestWakeKey).catch(() => {});
      await this.#commands.quit().catch(() => this.#commands?.disconnect());
    }
    for (const connection of connections) connection.disconnect();
  }
}
