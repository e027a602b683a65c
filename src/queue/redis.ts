import { randomUUID } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import { ColmenaTimeoutError, invalidArgument, InvalidMessageError, InvalidStateError, MessageTooLargeError, SerializationError } from '../common/errors.js';
import { DEFAULT_WIRE_LIMITS } from '../common/limits.js';
import { childLogger, type Logger } from '../common/logging.js';
import {
  checkRedisUrl,
  DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
  DEFAULT_REDIS_URL,
  describeRedisFailure,
  openRedis,
  redactRedisUrl,
  waitForRedis,
} from '../common/redis-connection.js';
import { nowSeconds } from '../models/clock.js';
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
import { throwIfAborted, watchWait } from '../common/abort.js';
import { ColmenaQueues, type QueuesOptions, type ServerMessage, type TakeOptions } from './base.js';
import {
  ANSWER_SCRIPT,
  HEARTBEAT_SCRIPT,
  LIVE_SERVERS_SCRIPT,
  leaseKeys,
  type LeaseKeys,
  type LeaseOptions,
  RECLAIM_SCRIPT,
  RELEASE_SCRIPT,
  type ResolvedLease,
  resolveLease,
  QUARANTINE_AFTER,
  TAKE_SCRIPT,
} from './redis-lease.js';
import { TickBatch } from './tick-batch.js';
import { UnansweredRequests } from './redis-data-loss.js';
import { Waiters } from '../common/waiters.js';

export interface RedisQueuesOptions extends QueuesOptions, LeaseOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** Prefix of every key; thinker and task server must use the same one. @default a random UUID */
  prefix?: string;
  /** Largest message sent or accepted, in bytes. @default 512 MiB (Redis' own limit) */
  maxMessageBytes?: number;
  /** Extra ioredis options (TLS certificates, timeouts, ...). */
  redisOptions?: RedisOptions;
  /** How long the first command waits for Redis before rejecting with a RedisConnectionError. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * With tasks active and no task server heartbeat seen on the prefix for this long, emit
   * `no-server` and log one warning. `null` turns the check off. Python Colmena servers keep no
   * heartbeat, so with one of them this warns but changes nothing.
   * @default 10000
   */
  noServerWarningMs?: number | null;
  /**
   * With no task server heartbeat for this long, end every active task as a failed result
   * (reason `worker-crashed`, name `NoTaskServerError`) instead of waiting forever.
   * @default null (wait)
   */
  noServerFailAfterMs?: number | null;
  /**
   * Take requests under a lease (moved into this server's lease record until answered), so a
   * crashed server's tasks go to another. `false` pops them as Python Colmena does: a little
   * faster, and every task a crashed server held is lost.
   * @default true
   */
  leasedDelivery?: boolean;
  /** Most results taken off a topic list in one pop. @default 256 */
  resultBatch?: number;
  /**
   * Keep each request until its final result is taken, and send the unanswered ones again when Redis
   * comes back without its data (restarted without persistence, flushed, failed over to an empty
   * replica), so no task is lost; a task that was running then may run twice (its second result is
   * dropped). `false` holds nothing: tasks whose request or result Redis lost then never end.
   * @default true
   */
  resendLostRequests?: boolean;
  logger?: Logger;
}

const WAKE = 'wake';
/** Requests per RPUSH, at most. */
const REQUEST_BATCH = 128;
/** How long a client keeps reading a topic's list after its last task there retired. */
const SHRINK_GRACE_MS = 50;

/** A request taken and not yet handed to the server, with what ends its lease. */
interface Taken {
  element: string;
  /** Its number in the lease hash; `null` for one on the processing list (a blocking move) or taken without a lease. */
  seq: string | null;
}

/**
 * What ends a task's lease in the answer script: its sequence number in the lease hash, or the
 * element itself when it sits on the processing list (an element always has a '{', a number never).
 */
function leaseToken(taken: Taken): string {
  return taken.seq ?? taken.element;
}

/** A result ready to go, with the lease it ends. */
interface OutgoingResult {
  key: string;
  body: string;
  taskId: string;
  lease: string | undefined;
}

type TakerRedis = Redis & {
  colmenaTake(...args: (string | number)[]): Promise<string[]>;
  colmenaReclaim(...args: (string | number)[]): Promise<number>;
  colmenaLiveServers(...args: (string | number)[]): Promise<number>;
  colmenaRelease(...args: (string | number)[]): Promise<number>;
  colmenaAnswer(...args: (string | number)[]): Promise<number>;
  colmenaHeartbeat(...args: (string | number)[]): Promise<number>;
};

/**
 * Queues over Redis lists, speaking Python Colmena's JSON wire format: `<prefix>_requests` for all
 * requests, `<prefix>_<topic>_result` per topic. A TypeScript thinker can drive a Python Colmena
 * task server through it, and a Python thinker can drive ours.
 *
 * As a task server, it takes requests under a lease (see `redis-lease.ts`): a request taken by a
 * server that dies goes back to the request list for another. As a client, it reads only the
 * result lists of topics it owns (see {@link ColmenaQueues.ownedTopics}). Sends and results that
 * are ready in the same tick go to Redis in one round trip; results are popped in batches.
 *
 * Blocking reads run on their own connections and are interrupted with `CLIENT UNBLOCK` or a
 * wake-up list of this object's own, so nothing is ever popped and then dropped.
 */
export class RedisQueues<M extends MethodMap = MethodMap> extends ColmenaQueues<M> {
  readonly prefix: string;
  readonly maxMessageBytes: number;
  /** This object's id as a task server (its leases and heartbeat are named by it). */
  readonly serverId = randomUUID();
  readonly #url: string;
  readonly #redisOptions: RedisOptions;
  readonly #logger: Logger;
  readonly #connectTimeoutMs: number;
  readonly #lease: ResolvedLease;
  readonly #keys: LeaseKeys;
  readonly #noServerWarningMs: number | null;
  readonly #noServerFailAfterMs: number | null;
  readonly #resultBatch: number;
  readonly #leased: boolean;
  #commands: TakerRedis | null = null;
  #commandsReady: Promise<void> | null = null;
  /** The command connection has answered once: commands go out without waiting a tick for it. */
  #commandsUp = false;
  #closing = false;

  // client side
  #resultReader: Redis | null = null;
  #listening: Promise<void> | null = null;
  #listeningKeys: readonly string[] = [];
  #ownershipWaiter: (() => void) | null = null;
  #shrinkTimer: NodeJS.Timeout | null = null;
  #blockedOnResults = false;
  /** What was sent and not yet answered, to send again should Redis lose it (null when turned off). */
  readonly #unanswered: UnansweredRequests | null;
  #noServerTimer: NodeJS.Timeout | null = null;
  #lastServerSeen = 0;
  #warnedNoServer = false;
  /** At most REQUEST_BATCH per RPUSH: a task server starts on the first requests of a long loop of sends while the rest are still being encoded. */
  readonly #requestBatch = new TickBatch<string>((elements) => this.#pushRequests(elements), { maxItems: REQUEST_BATCH });

  // server side
  #taker: TakerRedis | null = null;
  #takerId: number | null = null;
  #blockedOnTake = false;
  #takingStopped = false;
  #registered: Promise<unknown> | null = null;
  /** Tasks in hand that were redelivered: their count is dropped with their result. */
  readonly #redeliveredInHand = new Set<string>();
  /** Whether the last take saw any redelivery count on the prefix. */
  #anyRedelivered = true;
  #interrupting = false;
  #takeInProgress: Promise<void> | null = null;
  /** Requests leased and not yet handed to the server, oldest first. */
  #taken: Taken[] = [];
  /** The first lease number not yet reserved by a take ({@link #reserveSeqs}). */
  #nextSeq = 0;
  /** Times each taken request was redelivered after a server died. */
  readonly #redeliveries = new Map<string, number>();
  /** A request redelivered QUARANTINE_AFTER times or more, in hand: nothing else is taken until it is answered. */
  #quarantined: string | null = null;
  readonly #answerWaiters = new Waiters<void>();
  /** The lease token ({@link leaseToken}) of each task in hand, to end with its result. */
  readonly #leases = new Map<string, string>();
  #cancelReader: Redis | null = null;
  #cancelListening: Promise<void> | null = null;
  readonly #cancels: string[] = [];
  #inboxWaiter: (() => void) | null = null;
  #heartbeatTimer: NodeJS.Timeout | null = null;
  #reclaimTimer: NodeJS.Timeout | null = null;
  readonly #resultBatcher = new TickBatch<OutgoingResult>((results) => this.#pushResults(results));

  constructor(options: RedisQueuesOptions = {}) {
    super(options);
    this.prefix = options.prefix ?? randomUUID();
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_WIRE_LIMITS.maxMessageBytes;
    this.#url = checkRedisUrl(options.url ?? DEFAULT_REDIS_URL, 'RedisQueues url');
    this.#redisOptions = options.redisOptions ?? {};
    this.#logger = options.logger ?? childLogger('queues.redis');
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_REDIS_CONNECT_TIMEOUT_MS;
    this.#lease = resolveLease(options);
    this.#keys = leaseKeys(this.prefix, this.serverId);
    this.#noServerWarningMs = options.noServerWarningMs === undefined ? 10_000 : options.noServerWarningMs;
    this.#noServerFailAfterMs = options.noServerFailAfterMs ?? null;
    this.#resultBatch = options.resultBatch ?? 256;
    this.#leased = options.leasedDelivery ?? true;
    this.#unanswered = options.resendLostRequests === false || this.role === 'server' ? null : new UnansweredRequests(`${this.prefix}_epoch`);
    for (const [name, value] of [
      ['noServerWarningMs', this.#noServerWarningMs],
      ['noServerFailAfterMs', this.#noServerFailAfterMs],
    ] as const) {
      if (value !== null && !(value > 0)) throw invalidArgument('RedisQueues', name, 'a positive number of milliseconds or null', value);
    }
    if (!(Number.isSafeInteger(this.#resultBatch) && this.#resultBatch >= 1)) {
      throw invalidArgument('RedisQueues', 'resultBatch', 'a whole number, at least 1', options.resultBatch);
    }
  }

  /** The URL with its password hidden. */
  get url(): string {
    return redactRedisUrl(this.#url);
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

  /** Requests this object took as a task server by a blocking move and has not yet answered (a list). */
  get processingKey(): string {
    return this.#keys.processing;
  }

  /** Requests this object took as a task server in batches and has not yet answered (a hash: lease number → element). */
  get leasesKey(): string {
    return this.#keys.leases;
  }

  /** Exists while this object, as a task server, is alive. */
  get heartbeatKey(): string {
    return this.#keys.heartbeat;
  }

  get #resultWakeKey(): string {
    return `${this.prefix}_wake_${this.serverId}_results`;
  }

  get #cancelWakeKey(): string {
    return `${this.prefix}_wake_${this.serverId}_cancels`;
  }

  #connect(purpose: string, blocking: boolean): TakerRedis {
    const redis = openRedis({ url: this.#url, purpose, blocking, redisOptions: this.#redisOptions, logger: this.#logger }) as TakerRedis;
    redis.defineCommand('colmenaTake', { numberOfKeys: 4, lua: TAKE_SCRIPT });
    redis.defineCommand('colmenaReclaim', { numberOfKeys: 3, lua: RECLAIM_SCRIPT });
    redis.defineCommand('colmenaLiveServers', { numberOfKeys: 1, lua: LIVE_SERVERS_SCRIPT });
    redis.defineCommand('colmenaRelease', { numberOfKeys: 3, lua: RELEASE_SCRIPT });
    redis.defineCommand('colmenaAnswer', { numberOfKeys: 0, lua: ANSWER_SCRIPT });
    redis.defineCommand('colmenaHeartbeat', { numberOfKeys: 2, lua: HEARTBEAT_SCRIPT });
    return redis;
  }

  /** The command connection, once Redis answers (bounded wait, then a RedisConnectionError). */
  async #cmd(): Promise<TakerRedis> {
    if (this.#closing) throw new InvalidStateError('The queues are closed');
    if (this.#commands === null) {
      this.#commands = this.#connect('commands', false);
      // Each time the connection is (back) up: did Redis keep what we sent?
      const commands = this.#commands;
      if (this.#unanswered) commands.on('ready', () => void this.#resendIfLost(commands));
    }
    this.#commandsReady ??= waitForRedis(this.#commands, this.#url, { timeoutMs: this.#connectTimeoutMs }).catch((error: unknown) => {
      this.#commandsReady = null; // the next command tries again
      throw error;
    });
    await this.#commandsReady;
    this.#commandsUp = true;
    return this.#commands;
  }

  /**
   * Run a command, turning a connection failure into a RedisConnectionError. Issued on this tick
   * once the connection is known to answer (a batch filled in a long synchronous loop of sends is
   * written while the loop still runs), else after the connection's first answer.
   */
  #run<T>(command: (redis: TakerRedis) => Promise<T>): Promise<T> {
    if (this.#commandsUp && !this.#closing) return this.#issue(this.#commands!, command);
    return this.#cmd().then((redis) => this.#issue(redis, command));
  }

  async #issue<T>(redis: TakerRedis, command: (redis: TakerRedis) => Promise<T>): Promise<T> {
    try {
      return await command(redis);
    } catch (error) {
      if ((error as Error).name === 'ReplyError') throw error;
      throw describeRedisFailure(error, this.#url);
    }
  }

  #checkSize(text: string): void {
    // Byte length is at most 3 × UTF-16 length; only measure when it could matter.
    if (text.length * 3 <= this.maxMessageBytes) return;
    const bytes = Buffer.byteLength(text);
    if (bytes > this.maxMessageBytes) throw new MessageTooLargeError(bytes, this.maxMessageBytes);
  }

  /**
   * Check the size of a message we are about to send. Measuring also flattens it: an encoded
   * message is a tree of the ~50 pieces it was built from (about 1.6 KB for a 600-byte request),
   * and thousands of them wait for their batch, so flat copies leave far less for the garbage
   * collector to move. ioredis measures every argument anyway; on a flat string that is one scan.
   */
  #checkOutgoing(text: string): void {
    const bytes = Buffer.byteLength(text);
    if (bytes > this.maxMessageBytes) throw new MessageTooLargeError(bytes, this.maxMessageBytes);
  }

  // ---- client side ----------------------------------------------------------------------------

  /** Not `async`: nothing of the task outlives its encoding while the batch is on its way. */
  protected override pushRequest(task: Result): Promise<void> {
    const element = encodeRequestElement(task);
    this.#checkOutgoing(element);
    this.#watchForServers();
    this.#unanswered?.add(task.taskId, element);
    return this.#requestBatch.add(element);
  }

  protected override taskRetired(taskId: string): void {
    this.#unanswered?.delete(taskId);
  }

  /** Send again what Redis lost, if it lost anything; problems are logged (the next reconnect checks again). */
  async #resendIfLost(commands: Redis): Promise<void> {
    if (this.#closing) return;
    try {
      if (!(await this.#unanswered!.lostData(commands))) return;
      // Not those whose final result is here and not yet taken.
      const waiting: string[] = [];
      for (const [taskId, element] of this.#unanswered!.entries()) if (this.awaitsFinalResult(taskId)) waiting.push(element);
      this.#logger.warn(
        { prefix: this.prefix, url: this.url, resent: waiting.length },
        `Redis lost its data (restarted without persistence, or flushed?): sending the ${waiting.length} requests not yet answered again`,
      );
      await Promise.all(waiting.map((element) => this.#requestBatch.add(element)));
      this.events.emit('requests-resent', { count: waiting.length });
    } catch (error) {
      if (!this.#closing) this.#logger.error({ err: describeRedisFailure(error, this.#url) }, 'could not check whether Redis lost the requests sent');
    }
  }

  /** Requests gathered in one tick (at most REQUEST_BATCH), in one RPUSH. */
  #pushRequests(elements: string[]): Promise<void> {
    return this.#run((redis) => redis.rpush(this.requestKey, ...elements)).then(() => undefined);
  }

  protected override async pushKillSignal(): Promise<void> {
    await this.#run((redis) => redis.rpush(this.requestKey, KILL_SIGNAL_ELEMENT));
  }

  protected override async pushCancel(taskId: string): Promise<void> {
    await this.#run((redis) => redis.rpush(this.cancelKey, taskId));
  }

  protected override listenForResults(): void {
    if (this.#listening || this.#closing) return;
    this.#resultReader = this.#connect('results', true);
    this.#listening = this.#listen(this.#resultReader);
  }

  protected override ownershipChanged(): void {
    if (!this.#listening) return;
    const owned = this.ownedTopics().map((topic) => this.resultKey(topic));
    if (owned.length === this.#listeningKeys.length && owned.every((key, i) => key === this.#listeningKeys[i])) return;
    if (this.#ownershipWaiter) return this.#ownershipWaiter();
    const grew = owned.some((key) => !this.#listeningKeys.includes(key));
    if (grew) return this.#wakeResultReader();
    // Only shrank (the last task of a topic retired): let go of that topic's list soon, but not at
    // once, so a thinker sending one task after another does not restart its pop for each.
    this.#shrinkTimer ??= setTimeout(() => {
      this.#shrinkTimer = null;
      const still = this.ownedTopics().map((topic) => this.resultKey(topic));
      if (still.length !== this.#listeningKeys.length || still.some((key, i) => key !== this.#listeningKeys[i])) this.#wakeResultReader();
    }, SHRINK_GRACE_MS);
    this.#shrinkTimer.unref();
  }

  /** Blocked on an old set of keys: wake the pop so it starts again with the new set. */
  #wakeResultReader(): void {
    if (this.#blockedOnResults) this.#commands?.rpush(this.#resultWakeKey, WAKE).catch(() => {});
  }

  async #listen(reader: Redis): Promise<void> {
    while (!this.#closing) {
      const keys = this.ownedTopics().map((topic) => this.resultKey(topic));
      this.#listeningKeys = keys;
      if (keys.length === 0) {
        // Nothing of ours can arrive: read nothing (so no other client's results are taken).
        await new Promise<void>((resolve) => (this.#ownershipWaiter = resolve));
        this.#ownershipWaiter = null;
        continue;
      }
      let reply: [string, string[]] | null;
      try {
        this.#blockedOnResults = true;
        reply = (await reader.call('BLMPOP', 0, keys.length + 1, ...keys, this.#resultWakeKey, 'LEFT', 'COUNT', this.#resultBatch)) as
          | [string, string[]]
          | null;
      } catch (error) {
        if (this.#closing) return;
        this.#logger.error({ err: describeRedisFailure(error, this.#url) }, 'reading results failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      } finally {
        this.#blockedOnResults = false;
      }
      if (!reply || reply[0] === this.#resultWakeKey) continue;
      for (const body of reply[1]) this.#receiveResult(body);
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

  /** While tasks are active, look for a live task server heartbeat now and then. */
  #watchForServers(): void {
    if (this.#noServerTimer || this.#noServerWarningMs === null || this.#closing) return;
    this.#lastServerSeen = performance.now();
    const everyMs = Math.max(50, Math.min(1000, Math.min(this.#noServerWarningMs, this.#noServerFailAfterMs ?? Infinity) / 4));
    this.#noServerTimer = setInterval(() => void this.#checkServers(), everyMs);
    this.#noServerTimer.unref();
  }

  async #checkServers(): Promise<void> {
    if (this.activeCount() === 0) {
      this.#lastServerSeen = performance.now();
      return;
    }
    let live: number;
    try {
      live = await this.#run((redis) => redis.colmenaLiveServers(this.#keys.servers, this.prefix));
    } catch {
      return; // connection problems are logged by the connection itself
    }
    const now = performance.now();
    if (live > 0) {
      this.#lastServerSeen = now;
      this.#warnedNoServer = false;
      return;
    }
    const sinceMs = Math.round(now - this.#lastServerSeen);
    if (!this.#warnedNoServer && sinceMs >= this.#noServerWarningMs!) {
      this.#warnedNoServer = true;
      this.#logger.warn(
        { prefix: this.prefix, activeTasks: this.activeCount(), sinceMs },
        `no task server heartbeat on prefix '${this.prefix}' for ${sinceMs} ms while ${this.activeCount()} tasks are active: ` +
          `start a task server (or check it uses this Redis and prefix)`,
      );
      this.events.emit('no-server', { activeTasks: this.activeCount(), sinceMs });
    }
    if (this.#noServerFailAfterMs !== null && sinceMs >= this.#noServerFailAfterMs) {
      const failed = this.failActiveTasks({
        name: 'NoTaskServerError',
        message: `No task server answered on prefix '${this.prefix}' at ${this.url} for ${sinceMs} ms (noServerFailAfterMs ${this.#noServerFailAfterMs})`,
        stack: '',
        reason: 'worker-crashed',
      });
      if (failed > 0) this.#logger.warn({ failed }, 'failed the active tasks: no task server');
    }
  }

  // ---- server side ----------------------------------------------------------------------------

  protected override async popRequest(options: TakeOptions): Promise<ServerMessage> {
    const { signal, timeoutMs } = options;
    const room = Math.max(1, options.room ?? 1);
    throwIfAborted(signal);
    this.#startServing();
    for (;;) {
      const taken = this.#taken.shift();
      if (taken !== undefined) {
        const parsed = this.#parseLeased(taken);
        // A task is handed over on this tick; only kill signals and bad requests wait for Redis.
        const message = parsed instanceof Promise ? await parsed : parsed;
        if (message) return message;
        continue;
      }
      const cancel = this.#cancels.shift();
      if (cancel !== undefined) return { kind: 'cancel', taskId: cancel };
      if (this.#closing || this.#takingStopped) throw new InvalidStateError('The queues are closed');
      this.#takeInProgress ??= this.#take(room).finally(() => (this.#takeInProgress = null));
      const take = this.#takeInProgress;
      const outcome = await new Promise<'progress' | 'stopped' | 'timeout'>((resolve, reject) => {
        const detach = watchWait('a task request', { timeoutMs, signal }, () => settle(signal?.aborted ? 'stopped' : 'timeout'));
        const settle = (value: 'progress' | 'stopped' | 'timeout', error?: unknown): void => {
          detach();
          this.#inboxWaiter = null;
          if (error === undefined) resolve(value);
          else reject(error);
        };
        this.#inboxWaiter = () => settle('progress');
        take.then(
          () => settle('progress'),
          (error: unknown) => settle('progress', error),
        );
      });
      if (outcome === 'progress') continue;
      await this.#interruptTake();
      if (outcome === 'timeout' && this.#taken.length === 0) throw new ColmenaTimeoutError('a task request', timeoutMs!);
      if (outcome === 'stopped') {
        // Taken while we were stopping: give them back for another server.
        await this.#releaseTaken();
        throw signal!.reason;
      }
    }
  }

  /** Register as a server: heartbeat, look for lapsed servers, listen for cancels. */
  #startServing(): void {
    if (this.#heartbeatTimer || this.#closing) return;
    this.#taker = this.#connect('requests', true);
    this.#taker.on('reconnecting', () => (this.#takerId = null));
    this.#heartbeatTimer = setInterval(() => void this.#beat().catch((error: unknown) => this.#logger.debug({ err: error }, 'heartbeat failed')), this.#lease.heartbeatMs);
    this.#reclaimTimer = setInterval(() => void this.reclaimLapsed().catch(() => {}), this.#lease.reclaimMs);
    this.#cancelReader = this.#connect('cancels', true);
    this.#cancelListening = this.#listenForCancels(this.#cancelReader);
  }

  /**
   * Put back the requests of task servers whose heartbeat lapsed, at the head of the request list
   * (each server's once, whoever runs it first). Live servers run it every twentieth of the lease.
   * Resolves with the number of requests put back.
   */
  async reclaimLapsed(): Promise<number> {
    const moved = await this.#run((redis) => redis.colmenaReclaim(this.#keys.servers, this.requestKey, this.#keys.redelivered, this.prefix, this.serverId));
    if (moved > 0) this.#logger.warn({ moved, prefix: this.prefix }, 'a task server stopped heartbeating; its requests are back on the request list');
    return moved;
  }

  /** Register and refresh the heartbeat (again after a reclaim by others, should we have been too slow). */
  #beat(): Promise<unknown> {
    return this.#run((redis) => redis.colmenaHeartbeat(this.#keys.servers, this.#keys.heartbeat, this.serverId, this.#lease.leaseMs));
  }

  async #take(room: number): Promise<void> {
    // Alive and registered before the first take (and a clear error if Redis cannot be reached).
    this.#registered ??= this.#beat().catch((error: unknown) => {
      this.#registered = null;
      throw error;
    });
    await this.#registered;
    const taker = this.#taker!;
    if (!this.#leased) return this.#popPlain(taker, room);
    if (this.#quarantined !== null) return this.#untilAnswered(); // a suspect runs alone
    const keys = [this.#keys.requests, this.#keys.processing, this.#keys.leases, this.#keys.redelivered];
    const alone = this.#leases.size === 0 && this.#taken.length === 0 ? '1' : '0';
    const firstSeq = this.#reserveSeqs(room);
    const flat = await taker.colmenaTake(...keys, room, alone, firstSeq);
    const left = this.#readTakeHead(flat);
    if (flat.length > 2) return this.#acceptTaken(flat, 2, firstSeq);
    // A quarantined request waits at the head for this server (or another) to hold nothing else.
    if (left) return this.#untilAnswered();
    if (this.#interrupting) return;
    this.#takerId ??= (await taker.client('ID')) as number;
    if (this.#interrupting) return;
    this.#blockedOnTake = true;
    let element: string | null;
    try {
      element = await taker.blmove(this.#keys.requests, this.#keys.processing, 'LEFT', 'LEFT', 0);
    } finally {
      this.#blockedOnTake = false;
    }
    if (element === null) return;
    this.#taken.push({ element, seq: null });
    // Hand it over at once (the next call takes more ahead); look up its history only when some
    // task on this prefix was redelivered lately.
    const id = this.#anyRedelivered ? readTaskId(element) : null;
    if (id === null) return;
    const moreSeq = this.#reserveSeqs(room - 1);
    const more = await taker.colmenaTake(...keys, room - 1, '0', moreSeq, id);
    this.#readTakeHead(more);
    const count = Number(more[2]);
    if (count > 0) this.#redeliveries.set(id, count);
    if (count >= QUARANTINE_AFTER) this.#quarantined = id;
    this.#acceptTaken(more, 3, moreSeq);
  }

  /**
   * The first of `count` lease numbers for one take. Reserved before the script runs: should its
   * reply be lost, the next take's numbers do not overwrite the leases it recorded.
   */
  #reserveSeqs(count: number): number {
    const first = this.#nextSeq;
    this.#nextSeq += count;
    return first;
  }

  /** The head of a take script's reply: notes whether any redelivery is on record; true if a quarantined request was left. */
  #readTakeHead(flat: string[]): boolean {
    this.#anyRedelivered = Number(flat[0]) > 0;
    return flat[1] === '1';
  }

  /** Resolves when a result of this server's is pushed (or the take is interrupted). */
  #untilAnswered(): Promise<void> {
    return this.#answerWaiters.wait('an answer from this server');
  }

  /** Without leases: pop up to `room` requests, blocking for the first. */
  async #popPlain(taker: TakerRedis, room: number): Promise<void> {
    let reply = (await taker.call('LMPOP', 1, this.#keys.requests, 'LEFT', 'COUNT', room)) as [string, string[]] | null;
    if (reply === null) {
      if (this.#interrupting) return;
      this.#takerId ??= (await taker.client('ID')) as number;
      if (this.#interrupting) return;
      this.#blockedOnTake = true;
      try {
        reply = (await taker.call('BLMPOP', 0, 1, this.#keys.requests, 'LEFT', 'COUNT', room)) as [string, string[]] | null;
      } finally {
        this.#blockedOnTake = false;
      }
    }
    if (reply) for (const element of reply[1]) this.#taken.push({ element, seq: null });
  }

  /**
   * The elements a take script took, from `flat[from]` on: into the lease hash, numbered from
   * `firstSeq` as the script numbered them; or, when some redelivery is on record, onto the
   * processing list, each followed by its redelivery count.
   */
  #acceptTaken(flat: string[], from: number, firstSeq: number): void {
    const withCounts = this.#anyRedelivered;
    let seq = firstSeq;
    for (let i = from; i < flat.length; i += withCounts ? 2 : 1) {
      const element = flat[i]!;
      this.#taken.push({ element, seq: withCounts ? null : String(seq++) });
      const count = withCounts ? Number(flat[i + 1]) : 0;
      if (count > 0) {
        const id = readTaskId(element);
        if (id) this.#redeliveries.set(id, count);
        if (id && count >= QUARANTINE_AFTER) this.#quarantined = id;
      }
    }
  }

  /** End a blocking take early: unblock it (retrying until it is really blocked) and wait for it. */
  async #interruptTake(): Promise<void> {
    this.#interrupting = true;
    this.#wakeAnswerWaiters();
    try {
      while (this.#takeInProgress) {
        const take = this.#takeInProgress;
        if (this.#blockedOnTake && this.#takerId !== null && this.#commands) {
          await this.#commands.client('UNBLOCK', this.#takerId).catch(() => {});
        }
        await Promise.race([take.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5))]);
      }
    } finally {
      this.#interrupting = false;
    }
  }

  async #releaseTaken(): Promise<void> {
    if (this.#taken.length === 0) return;
    const taken = this.#taken;
    this.#taken = [];
    if (!this.#leased) {
      // Popped, never handed over: back at the head, oldest first.
      await this.#run((redis) => redis.lpush(this.#keys.requests, ...taken.map(({ element }) => element).reverse())).catch(() => {});
      return;
    }
    const pairs = taken.flatMap(({ element, seq }) => [seq ?? '', element]);
    await this.#run((redis) => redis.colmenaRelease(this.#keys.processing, this.#keys.requests, this.#keys.leases, ...pairs)).catch((error: unknown) =>
      this.#logger.warn({ err: error, count: taken.length }, 'could not give back taken requests; they return when the lease lapses'),
    );
  }

  async #listenForCancels(reader: Redis): Promise<void> {
    while (!this.#closing) {
      let reply: [string, string] | null;
      try {
        reply = await reader.blpop(this.cancelKey, this.#cancelWakeKey, 0);
      } catch (error) {
        if (this.#closing) return;
        this.#logger.error({ err: describeRedisFailure(error, this.#url) }, 'reading cancel requests failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (!reply || reply[0] === this.#cancelWakeKey) continue;
      this.#cancels.push(reply[1]);
      this.#inboxWaiter?.();
    }
  }

  /** End a taken request's lease now (it will get no result to travel with). */
  #ack({ element, seq }: Taken): Promise<void> {
    if (!this.#leased) return Promise.resolve();
    return this.#run((redis) => (seq === null ? redis.lrem(this.#keys.processing, 1, element) : redis.hdel(this.#keys.leases, seq))).then(() => undefined);
  }

  /**
   * The message in a taken element; `null` when it was answered here (see {@link #answerPoisoned}).
   * Synchronous for a well-formed task (nearly every one), a promise when Redis must be told first.
   */
  #parseLeased(taken: Taken): ServerMessage | null | Promise<ServerMessage | null> {
    const element = taken.element;
    if (isKillSignal(element)) return this.#ack(taken).then(() => ({ kind: 'kill' }));
    const split = splitRequestElement(element);
    if (!split) {
      const malformed: ServerMessage = {
        kind: 'malformed',
        error: new InvalidMessageError(`Request has no JSON body (no '{'): ${JSON.stringify(element.slice(0, 80))}`),
        identity: null,
        raw: element,
      };
      return this.#ack(taken).then(() => malformed);
    }
    try {
      this.#checkSize(split.body);
      const task = decodeWireMessage(split.body);
      if (!split.body.includes('"topic"')) {
        this.#logger.warn({ taskId: task.taskId }, "request has no 'topic' field; answering on topic 'default'");
      }
      if (this.#leased) this.#leases.set(task.taskId, leaseToken(taken));
      const redelivered = this.#redeliveries.get(task.taskId);
      if (redelivered !== undefined) {
        this.#redeliveries.delete(task.taskId);
        this.#redeliveredInHand.add(task.taskId);
        // On the task's record; not counted against maxRetries (it may never have started).
        const lost = {
          name: 'TaskServerLost',
          message: `A task server that took this request stopped heartbeating; the request was redelivered (${redelivered} time(s))`,
          stack: '',
          reason: 'worker-crashed' as const,
        };
        task.failedAttempts.push({ failure: lost, workerInfo: null, computeStarted: Number.NaN, computeEnded: Number.NaN });
        if (redelivered > this.#lease.maxRedeliveries) {
          return this.#answerPoisoned(task, redelivered).catch((error: unknown) => this.#malformed(taken, split, error));
        }
      }
      return { kind: 'task', task };
    } catch (error) {
      return this.#malformed(taken, split, error);
    }
  }

  /** A taken request that cannot be run: answered as failed if its task id can be read, else dropped. */
  #malformed(taken: Taken, split: { topic: string; body: string }, error: unknown): ServerMessage | Promise<ServerMessage> {
    const invalid = error instanceof InvalidMessageError ? error : new InvalidMessageError((error as Error).message, { cause: error });
    const identity = readIdentity(split.body, split.topic || undefined);
    const malformed: ServerMessage = { kind: 'malformed', error: invalid, identity, raw: taken.element };
    if (!identity) return this.#ack(taken).then(() => malformed);
    if (this.#leased) this.#leases.set(identity.taskId, leaseToken(taken));
    return malformed;
  }

  /**
   * A request whose every server died: answer it as failed here rather than hand it to a server
   * that may die of it too. Resolves `null`: nothing for the server to run.
   */
  async #answerPoisoned(task: Result, redelivered: number): Promise<null> {
    this.#logger.warn({ taskId: task.taskId, method: task.method, redelivered, maxRedeliveries: this.#lease.maxRedeliveries }, 'a request was redelivered too often; answering it as failed');
    task.timestamp.inputReceived = nowSeconds();
    task.fail({
      name: 'TaskServerLost',
      message:
        `Task ${task.taskId} ('${task.method}') was redelivered ${redelivered} times, more than maxRedeliveries (${this.#lease.maxRedeliveries}): ` +
        `every task server that took it stopped heartbeating. The task may be what crashes them (memory, a native crash); ` +
        `check their logs, or raise maxRedeliveries.`,
      stack: '',
      reason: 'worker-crashed',
    });
    task.applyKeepInputs();
    task.timestamp.resultSent = nowSeconds();
    await this.pushResult(task);
    return null;
  }

  protected override async pushResult(result: Result): Promise<void> {
    let body: string;
    try {
      body = encodeWireMessage(result);
    } catch (error) {
      throw new SerializationError(`The result of task ${result.taskId} ('${result.method}') cannot be encoded: ${(error as Error).message}`, {
        cause: error,
      });
    }
    // Not flattened here (#checkOutgoing): a server holds no more results than its window, and
    // the command that carries them copies each once anyway.
    this.#checkSize(body);
    const lease = result.complete === false || !this.#leased ? undefined : this.#leases.get(result.taskId);
    await this.#resultBatcher.add({ key: this.resultKey(result.topic), body, taskId: result.taskId, lease });
  }

  /** Results ready in one tick: pushed, and their leases ended, in one transaction. */
  async #pushResults(results: OutgoingResult[]): Promise<void> {
    const args: string[] = [this.#keys.processing, this.#keys.leases];
    const redelivered: string[] = [];
    for (const { key, body, lease, taskId } of results) {
      args.push(key, body, lease ?? '');
      if (lease !== undefined && this.#redeliveredInHand.delete(taskId)) redelivered.push(taskId);
    }
    await this.#run((redis) => redis.colmenaAnswer(...args));
    // Their redelivery counts are history now.
    if (redelivered.length > 0) await this.#run((redis) => redis.hdel(this.#keys.redelivered, ...redelivered)).catch(() => {});
    for (const { lease, taskId } of results) {
      if (lease !== undefined && this.#leases.get(taskId) === lease) this.#leases.delete(taskId);
      if (taskId === this.#quarantined && lease !== undefined) this.#quarantined = null;
    }
    this.#wakeAnswerWaiters();
  }

  #wakeAnswerWaiters(): void {
    this.#answerWaiters.settleAll({ value: undefined });
  }

  // ---- housekeeping ---------------------------------------------------------------------------

  protected override async clearChannels(): Promise<void> {
    await this.#run((redis) => redis.del(this.requestKey, this.cancelKey, ...this.topics.map((topic) => this.resultKey(topic))));
  }

  protected override async closeTransport(): Promise<void> {
    if (this.#noServerTimer) clearInterval(this.#noServerTimer);
    if (this.#shrinkTimer) clearTimeout(this.#shrinkTimer);
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
    if (this.#reclaimTimer) clearInterval(this.#reclaimTimer);
    const serving = this.#heartbeatTimer !== null;
    // No new takes from here on (a pending getTask sees this and rejects).
    this.#takingStopped = true;
    if (serving) {
      await this.#interruptTake();
      await this.#releaseTaken();
    }
    this.#closing = true;
    this.#ownershipWaiter?.();
    this.#inboxWaiter?.();
    const commands = this.#commands;
    if (commands && this.#commandsReady) {
      await this.#commandsReady.catch(() => {});
      // Wake blocked pops so they return before their connections go.
      await Promise.allSettled([commands.rpush(this.#resultWakeKey, WAKE), commands.rpush(this.#cancelWakeKey, WAKE)]);
      await Promise.allSettled([this.#listening, this.#cancelListening]);
      const cleanup: Promise<unknown>[] = [commands.del(this.#resultWakeKey, this.#cancelWakeKey)];
      if (serving) {
        // Tasks still in hand (the server was not stopped first) go back to the request list at once.
        cleanup.push(commands.del(this.#keys.heartbeat).then(() => commands.colmenaReclaim(this.#keys.servers, this.requestKey, this.#keys.redelivered, this.prefix, '')));
      }
      await Promise.allSettled(cleanup);
      await commands.quit().catch(() => commands.disconnect());
    }
    // Also a command connection that never got through (it would otherwise retry forever).
    for (const connection of [this.#commands, this.#taker, this.#resultReader, this.#cancelReader]) connection?.disconnect();
  }
}

/** The task id in a request element, without parsing it. */
function readTaskId(element: string): string | null {
  return /"task_id"\s*:\s*"([^"]+)"/.exec(element)?.[1] ?? null;
}
