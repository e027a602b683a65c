/**
 * The dashboard's web server: the page (plain ES modules and CSS read from `page/`), the current
 * view as JSON, and a server-sent event stream of updates.
 *
 * A browser that reads slowly (or not at all) costs nothing: each update is written only to
 * clients that have taken the previous one; the others simply get a newer one later. Nothing is
 * queued per client.
 */
import { timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Logger } from '../../common/logging.js';
import type { DashboardView, SpanTuple } from './view.js';

/** The page's files, served from memory. */
const PAGE_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'charts.js': 'text/javascript; charset=utf-8',
  'format.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

const COOKIE = 'colmena_dashboard_token';
/** With nothing new, still send a view this often so the page's clock and charts move on. */
const IDLE_UPDATE_MS = 2000;
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Where the page's files are: beside this module (source, or a build that copied them), else in the source tree. */
export function pageDirectory(): URL {
  const candidates = [new URL('./page/', import.meta.url), new URL('../../../src/monitor/dashboard/page/', import.meta.url)];
  const found = candidates.find((url) => existsSync(new URL('index.html', url)));
  if (!found) throw new Error(`The dashboard page is missing: looked for index.html in ${candidates.map((u) => u.pathname).join(' and ')}`);
  return found;
}

export interface ViewSource {
  /** The view with the runs newer than `afterSeq` (`Infinity`: none). */
  view(afterSeq: number): DashboardView;
  spansAfter(afterSeq: number): SpanTuple[];
  /** Changes whenever the view would (besides the clock). */
  seq(): number;
}

export interface HttpOptions {
  token: string | null;
  /** Bound to a loopback address: refuse requests naming another host (DNS rebinding). */
  loopbackOnly: boolean;
  /** The address it listens on (e.g. 127.0.0.2): a page opened by that address is answered too. */
  boundHost: string;
  logger: Logger;
}

interface Client {
  stream: SSEStreamingApi;
  /** Newest run this client has. */
  cursor: number;
  writing: boolean;
  /** State sequence number of the last view sent, and when it was sent (ms). */
  lastSent: number;
  lastSentAt: number;
}

/** The routes, and the set of connected pages to push updates to. */
export class DashboardHttp {
  readonly app = new Hono();
  readonly #source: ViewSource;
  readonly #options: HttpOptions;
  readonly #files = new Map<string, Buffer>();
  readonly #clients = new Set<Client>();
  #closing = false;
  readonly #closed: Promise<void>;
  #close!: () => void;

  constructor(source: ViewSource, options: HttpOptions) {
    this.#source = source;
    this.#options = options;
    this.#closed = new Promise((resolve) => (this.#close = resolve));
    const dir = pageDirectory();
    for (const name of Object.keys(PAGE_FILES)) this.#files.set(name, readFileSync(new URL(name, dir)));
    this.#routes();
  }

  /** Pages connected now. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Send the current view to every page that has taken the previous one (and is due one). */
  broadcast(): void {
    if (this.#clients.size === 0) return;
    const now = Date.now();
    const seq = this.#source.seq();
    let shared: string | null = null;
    for (const client of this.#clients) {
      if (client.writing) continue;
      if (client.lastSent === seq && now - client.lastSentAt < IDLE_UPDATE_MS) continue;
      shared ??= JSON.stringify(this.#source.view(Infinity));
      this.#send(client, shared, seq, now);
    }
  }

  /** End every stream (pages reconnect on their own if the dashboard comes back). */
  close(): void {
    this.#closing = true;
    this.#close();
  }

  #send(client: Client, sharedView: string, seq: number, now: number): void {
    const spans = this.#source.spansAfter(client.cursor);
    const last = spans.at(-1);
    if (last) client.cursor = last[0];
    client.writing = true;
    client.lastSent = seq;
    client.lastSentAt = now;
    client.stream
      .writeSSE({ event: 'view', id: String(client.cursor), data: `{"view":${sharedView},"spans":${JSON.stringify(spans)}}` })
      .catch(() => client.stream.abort())
      .finally(() => (client.writing = false));
  }

  #routes(): void {
    const app = this.app;
    app.use('*', this.#guard());
    app.get('/', (c) => this.#file(c, 'index.html'));
    app.get('/assets/:name', (c) => this.#file(c, c.req.param('name')));
    app.get('/api/view', (c) => {
      c.header('Cache-Control', 'no-store');
      return c.json(this.#source.view(0));
    });
    app.get('/api/events', (c) => {
      // A reconnecting EventSource says which runs it has.
      const last = Number(c.req.header('Last-Event-ID') ?? c.req.query('since') ?? 0);
      c.header('X-Accel-Buffering', 'no');
      return streamSSE(c, async (stream) => {
        const client: Client = { stream, cursor: Number.isFinite(last) && last > 0 ? last : 0, writing: false, lastSent: -1, lastSentAt: 0 };
        this.#clients.add(client);
        const aborted = new Promise<void>((resolve) => stream.onAbort(resolve));
        await stream.writeSSE({ event: 'hello', data: '{}', retry: 2000 });
        this.#send(client, JSON.stringify(this.#source.view(Infinity)), this.#source.seq(), Date.now());
        await Promise.race([aborted, this.#closed]);
        this.#clients.delete(client);
      });
    });
    app.notFound((c) => c.text('Not found. The dashboard is at /', 404));
  }

  #file(c: Context, name: string): Response {
    const type = PAGE_FILES[name];
    const body = this.#files.get(name);
    if (type === undefined || body === undefined) return c.text('Not found', 404);
    // Through the context, so headers set on the way in (the token's cookie) go out too.
    c.header('Content-Type', type);
    c.header('Cache-Control', 'no-cache');
    c.header('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    return c.body(new Uint8Array(body));
  }

  /** Host check on loopback; the access token everywhere else (header, cookie, or `?token=` once). */
  #guard(): MiddlewareHandler {
    const { token, loopbackOnly, boundHost } = this.#options;
    const bound = boundHost.toLowerCase();
    // An IPv6 address is named in brackets in a Host header and in a URL.
    const shown = bound.includes(':') && !bound.startsWith('[') ? `[${bound}]` : bound;
    const answersFor = new Set([...LOOPBACK_NAMES, bound, shown]);
    const expected = token === null ? null : Buffer.from(token);
    const matches = (given: string | undefined): boolean => {
      if (expected === null || given === undefined) return false;
      const buffer = Buffer.from(given);
      return buffer.length === expected.length && timingSafeEqual(buffer, expected);
    };
    return async (c, next) => {
      if (this.#closing) return c.text('The dashboard is closing', 503);
      if (loopbackOnly) {
        const host = (c.req.header('Host') ?? '').replace(/:\d+$/, '').toLowerCase();
        if (!answersFor.has(host)) {
          return c.text(`This dashboard listens on loopback only and does not answer for host '${host}'. Open it as http://${shown}:<port>/`, 403);
        }
      }
      if (expected !== null) {
        const bearer = c.req.header('Authorization')?.match(/^Bearer\s+(.+)$/i)?.[1];
        const query = c.req.query('token');
        if (!matches(bearer) && !matches(getCookie(c, COOKIE)) && !matches(query)) {
          return c.text('This dashboard needs its access token: open the address it printed when it started (it ends in ?token=...).', 401);
        }
        if (matches(query)) setCookie(c, COOKIE, token!, { httpOnly: true, sameSite: 'Strict', path: '/' });
      }
      await next();
    };
  }
}
