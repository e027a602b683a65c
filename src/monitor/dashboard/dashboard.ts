import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { createAdaptorServer } from '@hono/node-server';
import { InvalidArgumentError, InvalidStateError } from '../../common/errors.js';
import { childLogger, type Logger } from '../../common/logging.js';
import { nowSeconds } from '../../models/clock.js';
import type { ObservedQueues, ObservedThinker, SlotCounter } from '../run-log/observed.js';
import { type CollectTaskServerOptions, type DashboardTaskServer, EventCollector } from './collector.js';
import { DashboardHttp } from './http.js';
import type { DashboardRecord } from './records.js';
import { DashboardState, type DashboardStateOptions } from './state.js';
import type { DashboardView } from './view.js';

export interface DashboardOptions {
  /** TCP port to listen on; 0 picks a free one (read it back from {@link Dashboard.port}). @default 0 */
  port?: number;
  /**
   * Address to listen on. On anything but loopback the page asks for an access token.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * The access token the page asks for (give it once as `?token=`; the browser keeps it in a
   * cookie). By default none on loopback and a random one elsewhere (see {@link Dashboard.url});
   * `false` serves without one even when bound elsewhere.
   */
  token?: string | false;
  /** How often collected events become an update for the page, in milliseconds. @default 250 */
  intervalMs?: number;
  /** Free-form description of the campaign, shown on the page. @default {} */
  meta?: Record<string, unknown>;
  /** How much history the views keep. */
  limits?: DashboardStateOptions;
  /** @default a child of the library's logger named `dashboard` */
  logger?: Logger;
}

/** {@link DashboardOptions} plus what to watch, for {@link Dashboard.open}. */
export interface ServeDashboardOptions extends DashboardOptions {
  /** A thinker: its queues, resource counter and agents. */
  thinker?: ObservedThinker;
  /** Queues to watch (not needed with `thinker`). */
  queues?: ObservedQueues;
  /** A task server in this process: its start, stop and load. */
  server?: DashboardTaskServer;
  /** Workers of `server` (e.g. its threads): the capacity its utilization is measured against. */
  workers?: number;
  /** A resource counter (not needed with `thinker`). */
  resourceCounter?: SlotCounter;
}

type State = 'created' | 'listening' | 'closed';

/**
 * A live view of a running campaign in the browser: tasks by state, utilization per pool, the
 * task stream per worker, the latency breakdown, recent failures with their stacks, the agents
 * and the resource counter's pools.
 *
 * It watches the same events as the run log. Listeners on the task path only keep the object
 * the event carries; every `intervalMs` the dashboard turns what was kept into its state and
 * pushes a view to the pages open on it (server-sent events), skipping any page still reading
 * the previous view.
 *
 * @example
 * const dashboard = await Dashboard.open({ thinker, server, workers: 4, port: 8787 });
 * console.log(`Dashboard at ${dashboard.url}`);
 * await thinker.run();
 * await dashboard.close();
 */
export class Dashboard {
  readonly host: string;
  /** The access token, or `null` when the page needs none. */
  readonly token: string | null;
  readonly #requestedPort: number;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  readonly #collector = new EventCollector();
  readonly #limits: DashboardStateOptions;
  #state: DashboardState;
  readonly #http: DashboardHttp;
  #server: Server | null = null;
  #port = 0;
  #timer: NodeJS.Timeout | null = null;
  #lifecycle: State = 'created';
  readonly #meta: Record<string, unknown>;
  /** Whether this process's `start` record went in (on the first attach: a dashboard fed from Redis takes the campaign's). */
  #started = false;
  #closing: Promise<void> | null = null;

  /** Use {@link Dashboard.open}, or `new Dashboard()` then {@link listen}. Does no I/O. */
  constructor(options: DashboardOptions = {}) {
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`port must be an integer from 0 to 65535, got ${String(options.port)}`);
    const intervalMs = options.intervalMs ?? 250;
    if (!Number.isFinite(intervalMs) || intervalMs < 10) throw new InvalidArgumentError(`intervalMs must be at least 10 milliseconds, got ${String(options.intervalMs)}`);
    if (options.token !== undefined && options.token !== false && (typeof options.token !== 'string' || options.token.length < 8)) {
      throw new InvalidArgumentError('token must be a string of at least 8 characters, or false for none');
    }
    this.host = options.host ?? '127.0.0.1';
    const loopback = isLoopback(this.host);
    this.token = options.token === false ? null : (options.token ?? (loopback ? null : randomBytes(18).toString('base64url')));
    this.#requestedPort = port;
    this.#intervalMs = intervalMs;
    this.#logger = options.logger ?? childLogger('dashboard');
    this.#limits = options.limits ?? {};
    this.#state = new DashboardState(this.#limits);
    this.#meta = options.meta ?? {};
    this.#http = new DashboardHttp(
      { view: (after) => this.#view(after), spansAfter: (after) => this.#state.spansAfter(after), seq: () => this.#state.seq },
      { token: this.token, loopbackOnly: loopback, boundHost: this.host, logger: this.#logger },
    );
    if (!loopback && this.token === null) this.#logger.warn({ host: this.host }, 'the dashboard is served beyond loopback without an access token');
  }

  /** Create a dashboard, attach what it should watch, and start serving. */
  static async open(options: ServeDashboardOptions = {}): Promise<Dashboard> {
    const dashboard = new Dashboard(options);
    if (options.thinker) dashboard.attachThinker(options.thinker);
    if (options.queues) dashboard.attachQueues(options.queues);
    if (options.resourceCounter) dashboard.attachResourceCounter(options.resourceCounter);
    if (options.server) dashboard.attachTaskServer(options.server, options.workers === undefined ? {} : { workers: options.workers });
    await dashboard.listen();
    return dashboard;
  }

  /** The port it listens on (once listening). */
  get port(): number {
    return this.#port;
  }

  /** The address to open, with the access token when there is one. */
  get url(): string {
    const host = isLoopback(this.host) ? (this.host.includes(':') ? `[${this.host}]` : this.host) : isWildcard(this.host) ? hostname() : this.host;
    return `http://${host}:${this.#port}/${this.token === null ? '' : `?token=${encodeURIComponent(this.token)}`}`;
  }

  /** Pages connected now. */
  get clients(): number {
    return this.#http.clients;
  }

  /** Watch every task sent and every result taken through these queues. */
  attachQueues(queues: ObservedQueues): this {
    this.#assertOpen('attachQueues');
    this.#start();
    this.#collector.attachQueues(queues);
    return this;
  }

  /** Watch a task server in this process: its start and stop, and how many tasks it has in hand. */
  attachTaskServer(server: DashboardTaskServer, options: CollectTaskServerOptions = {}): this {
    this.#assertOpen('attachTaskServer');
    this.#start();
    this.#collector.attachTaskServer(server, options);
    return this;
  }

  /** Watch a thinker: its queues, its resource counter, and its agents and events. */
  attachThinker(thinker: ObservedThinker): this {
    this.#assertOpen('attachThinker');
    this.#start();
    this.#collector.attachThinker(thinker);
    return this;
  }

  /** Watch a resource counter's pools. */
  attachResourceCounter(counter: SlotCounter): this {
    this.#assertOpen('attachResourceCounter');
    this.#start();
    this.#collector.attachResourceCounter(counter);
    return this;
  }

  /** Chart a value the campaign tracks (e.g. the best result so far). */
  recordValue(name: string, value: number): void {
    this.#assertOpen('recordValue');
    this.#start();
    this.#collector.recordValue(name, value);
  }

  /** Feed records from elsewhere (a campaign publishing through Redis), in the order they happened. */
  ingest(records: readonly DashboardRecord[]): void {
    this.#assertOpen('ingest');
    this.#state.ingest(records);
  }

  /** Replace everything seen so far by a state restored from elsewhere (a publisher's checkpoint). */
  replaceState(state: DashboardState): void {
    this.#assertOpen('replaceState');
    this.#state = state;
  }

  /** The view the page shows now, with every kept run of the task stream. */
  view(): DashboardView {
    this.#tick(false);
    return this.#view(0);
  }

  /** Start serving. @throws the listen error (e.g. EADDRINUSE) with the address in its message. */
  async listen(): Promise<this> {
    if (this.#lifecycle !== 'created') throw new InvalidStateError(`listen() needs a new dashboard; this one is ${this.#lifecycle}`);
    this.#lifecycle = 'listening';
    const server = createAdaptorServer({ fetch: this.#http.app.fetch }) as Server;
    server.listen(this.#requestedPort, this.host);
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error as Error))]);
    } catch (error) {
      this.#lifecycle = 'closed';
      this.#collector.detach();
      const reason = error as NodeJS.ErrnoException;
      throw new InvalidStateError(`The dashboard could not listen on ${this.host}:${this.#requestedPort}: ${reason.code ?? reason.message}`);
    }
    this.#server = server;
    const address = server.address();
    this.#port = typeof address === 'object' && address !== null ? address.port : this.#requestedPort;
    this.#timer = setInterval(() => this.#tick(true), this.#intervalMs);
    this.#timer.unref();
    // A busy campaign is taken in between, in small batches, so that what it sends dies young.
    this.#collector.onBacklog = () => void setImmediate(() => this.#lifecycle === 'listening' && this.#tick(false));
    this.#logger.info({ url: this.url }, 'dashboard listening');
    return this;
  }

  /**
   * Stop watching, send the pages a last view, and stop serving. Safe to call more than once.
   * The pages keep what they show.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const wasListening = this.#lifecycle === 'listening';
      this.#lifecycle = 'closed';
      if (this.#timer !== null) clearInterval(this.#timer);
      this.#timer = null;
      this.#collector.detach();
      if (this.#started) this.#state.ingest([...this.#collector.drain(), { type: 'end', t: nowSeconds() }]);
      if (!wasListening || this.#server === null) return;
      this.#http.broadcast();
      // Give the last view a moment to go out before ending the streams.
      await new Promise((resolve) => setTimeout(resolve, 20));
      this.#http.close();
      const server = this.#server;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 200).unref();
      await closed;
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #tick(broadcast: boolean): void {
    try {
      this.#state.ingest(this.#collector.drain());
      if (broadcast) this.#http.broadcast();
    } catch (error) {
      // A bug here must not stop the campaign; the dashboard just misses an update.
      this.#logger.error({ err: error }, 'the dashboard could not take an update');
    }
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#state.ingest([this.#collector.startRecord(this.#meta, hostname())]);
  }

  #view(afterSeq: number): DashboardView {
    return this.#state.view(nowSeconds(), afterSeq);
  }

  #assertOpen(operation: string): void {
    if (this.#lifecycle === 'closed') throw new InvalidStateError(`${operation}() on a closed dashboard`);
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}
