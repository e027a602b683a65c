import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { existsSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, InvalidStateError } from '../../common/errors.js';
import { childLogger } from '../../common/logging.js';
import { nowSeconds } from '../../models/clock.js';
import type { Result } from '../../models/result.js';
import type {
  Observable,
  ObservedQueues,
  ObservedResumeEvents,
  ObservedTaskServer,
  ObservedThinker,
  ObservedThinkerEvents,
  ResumeSummary,
  SlotChange,
  SlotCounter,
} from './observed.js';
import { resultLine, RUN_LOG_VERSION, type RunLogRecord, type SlotsRecord, taskLine } from './records.js';

export interface RunLogOptions {
  /** Write buffered lines at least this often, in milliseconds. @default 250 */
  flushIntervalMs?: number;
  /** Write as soon as this many characters are buffered. @default 65536 */
  flushChars?: number;
  /** Free-form description of the campaign, kept in the first line. @default {} */
  meta?: Record<string, unknown>;
  /**
   * Also record each task's whole Colmena message: its inputs when sent, its value with its final
   * result (one `task` line each). A record written this way can resume the campaign
   * (`readCampaignRecord`, `thinker.resume`). Costs one wire encoding per task and per result.
   * @default false
   */
  tasks?: boolean;
}

export interface AttachTaskServerOptions {
  /** Label of the server in the log. @default 'task-server', numbered from the second one on */
  name?: string;
  /** Workers the server runs tasks on (e.g. its threads): the capacity utilization is measured against. */
  workers?: number;
  /**
   * Also record the results the server sends. Leave off when the queues are attached in the
   * same process (they record each result with its full timing, once). @default false
   */
  results?: boolean;
}

interface ResolvedOptions {
  tasks: boolean;
  flushIntervalMs: number;
  flushChars: number;
  meta: Record<string, unknown>;
}

/**
 * A run log: every result with its timings, the task servers' and thinker's events, and values
 * the campaign tracks, as JSON lines in one file. Read it back with `readRunLog` or turn it into
 * charts with `colmena report <file>`.
 *
 * Listeners only turn an event into a line and buffer it; lines are written in batches by a
 * timer (unref'd, so it never keeps the process alive) or once enough are buffered. `close()`
 * writes everything and detaches; if the process exits without it, the buffered lines are
 * written synchronously on exit.
 *
 * @example
 * const runLog = await RunLog.open('runs/today/run.jsonl', { meta: { campaign: 'screening' } });
 * runLog.attachQueues(queues).attachTaskServer(server, { workers: 4 });
 * // ... the campaign; record what it learns:
 * runLog.recordValue('best', best);
 * await runLog.close();
 */
export class RunLog {
  /** Absolute path of the log file. */
  readonly path: string;
  readonly #options: ResolvedOptions;
  readonly #logger = childLogger('run-log');
  #handle: FileHandle | null = null;
  #lines: string[] = [];
  #chars = 0;
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  /** The chain of writes, one at a time so lines stay in order. */
  #writing: Promise<void> = Promise.resolve();
  #writeError: unknown = null;
  #records = 0;
  #closing: Promise<void> | null = null;
  readonly #detach: (() => void)[] = [];
  readonly #serverNames = new Set<string>();
  readonly #onExit = (): void => this.#writeRemainingSync();
  /** The wire encoder, loaded by `open` only for `tasks: true` (it brings zod along). */
  #encodeWire: ((result: Result) => string) | null = null;

  /** Use {@link RunLog.open}, which creates the file. */
  private constructor(path: string, options: ResolvedOptions) {
    this.path = path;
    this.#options = options;
  }

  /**
   * Create (or append to) a run log, making its folder if needed, and write its first line.
   * @throws InvalidArgumentError for bad options; the file system's error if the file cannot be opened.
   */
  static async open(path: string, options: RunLogOptions = {}): Promise<RunLog> {
    if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError(`RunLog.open needs a file path, got ${String(path)}`);
    const resolved = resolveOptions(options);
    const log = new RunLog(resolve(path), resolved);
    if (resolved.tasks) log.#encodeWire = (await import('../../models/wire.js')).encodeWireMessage;
    await mkdir(dirname(log.path), { recursive: true });
    log.#handle = await open(log.path, 'a');
    process.on('exit', log.#onExit);
    log.#push({ type: 'start', t: nowSeconds(), version: RUN_LOG_VERSION, hostname: hostname(), pid: process.pid, meta: resolved.meta });
    return log;
  }

  /** Lines recorded so far (written or buffered). */
  get recordCount(): number {
    return this.#records;
  }

  get closed(): boolean {
    return this.#closing !== null;
  }

  /** Record every task sent and every result taken through these queues. */
  attachQueues(queues: ObservedQueues): this {
    this.#assertOpen('attachQueues');
    const encode = this.#encodeWire;
    this.#detach.push(
      queues.events.on('sent', (task: Result) => {
        const t = nowSeconds();
        this.#push({ type: 'sent', t, taskId: task.taskId, method: task.method, topic: task.topic, created: task.timestamp.created });
        if (encode !== null) this.#pushLine(taskLine('sent', task, t, encode));
      }),
      queues.events.on('result', (result: Result) => {
        const t = nowSeconds();
        this.#pushLine(resultLine(result, t));
        // Intermediate (streamed) results are not what a resumed campaign needs back.
        if (encode !== null && result.complete !== false) this.#pushLine(taskLine('result', result, t, encode));
      }),
    );
    return this;
  }

  /** Record when a task server starts and stops (and, with `results`, the results it sends). */
  attachTaskServer(server: ObservedTaskServer, options: AttachTaskServerOptions = {}): this {
    this.#assertOpen('attachTaskServer');
    const workers = options.workers ?? null;
    if (workers !== null && (!Number.isSafeInteger(workers) || workers < 1)) {
      throw new InvalidArgumentError(`attachTaskServer: workers must be a positive integer, got ${String(options.workers)}`);
    }
    const name = this.#uniqueServerName(options.name ?? 'task-server');
    this.#detach.push(
      server.events.on('started', ({ methods, at }) =>
        this.#push({ type: 'server', t: at ?? nowSeconds(), event: 'started', server: name, methods: [...methods], workers }),
      ),
      server.events.on('stopped', ({ reason }) => this.#push({ type: 'server', t: nowSeconds(), event: 'stopped', server: name, reason })),
    );
    if (options.results) this.#detach.push(server.events.on('result', (result: Result) => this.#pushLine(resultLine(result, nowSeconds()))));
    return this;
  }

  /**
   * Record a thinker: its queues, its resource counter's slot changes, and its agent and event
   * activity (when the thinker exposes `events`).
   */
  attachThinker(thinker: ObservedThinker): this {
    this.attachQueues(thinker.queues);
    if (thinker.resourceCounter !== null) this.attachResourceCounter(thinker.resourceCounter);
    const events = thinker.events;
    if (events) {
      this.#detach.push(
        events.on('agentStarted', ({ agent }) => this.#push({ type: 'agent', t: nowSeconds(), event: 'started', agent })),
        events.on('agentStopped', ({ agent, failed }) => this.#push({ type: 'agent', t: nowSeconds(), event: 'stopped', agent, failed })),
        events.on('eventSet', ({ event }) => this.#push({ type: 'event', t: nowSeconds(), name: event })),
      );
      // A thinker that never resumes simply never emits 'resumed'.
      const resumable = events as Observable<ObservedThinkerEvents & ObservedResumeEvents>;
      this.#detach.push(resumable.on('resumed', (summary) => this.recordResume(summary)));
    }
    return this;
  }

  /**
   * Record that the campaign resumed from this record: ids re-sent or abandoned are closed, so a
   * later resume does not take them as in flight again. `attachThinker` does this by itself.
   */
  recordResume(summary: ResumeSummary): void {
    this.#assertOpen('recordResume');
    const { replayed, adopted, resent, abandoned } = summary;
    this.#push({ type: 'resume', t: nowSeconds(), replayed, adopted: [...adopted], resent: resent.map((r) => ({ ...r })), abandoned: [...abandoned] });
    // Written at once: a crash before the next flush would make the next resume re-send these again.
    this.#writeBuffered();
  }

  /** Whether `task` lines (inputs and values) are recorded: the option `tasks`. */
  get recordsTasks(): boolean {
    return this.#options.tasks;
  }

  /** Record the slots of every pool of a resource counter now and after each change. */
  attachResourceCounter(counter: SlotCounter): this {
    this.#assertOpen('attachResourceCounter');
    const record = (change: SlotChange): void => {
      const pools = counter.snapshot().map((p) => ({ pool: p.pool, allocated: p.allocated, busy: p.allocated - p.available }));
      const { kind, slots } = change;
      const line: SlotsRecord = { type: 'slots', t: change.timestamp, change: { kind, slots }, pools };
      if (change.pool !== undefined) line.change.pool = change.pool;
      if (change.from !== undefined) line.change.from = change.from;
      if (change.to !== undefined) line.change.to = change.to;
      this.#push(line);
    };
    record({ kind: 'attach', slots: 0, timestamp: nowSeconds() });
    this.#detach.push(counter.events.on('change', record));
    return this;
  }

  /**
   * Record a value the campaign tracks (e.g. `recordValue('best', bestSoFar)`); `colmena report
   * --value best` charts it against time.
   * @throws InvalidArgumentError for an empty name or a value that is not a number; InvalidStateError once closed.
   */
  recordValue(name: string, value: number): void {
    this.#assertOpen('recordValue');
    if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError(`recordValue needs a non-empty name, got ${String(name)}`);
    if (typeof value !== 'number') throw new InvalidArgumentError(`recordValue('${name}', value): value must be a number, got ${typeof value}`);
    this.#push({ type: 'value', t: nowSeconds(), name, value });
  }

  /** Write what is buffered; resolves once it is on disk (as far as the OS is concerned). */
  async flush(): Promise<void> {
    this.#writeBuffered();
    await this.#writing;
    if (this.#writeError !== null) throw this.#writeError;
  }

  /**
   * Detach from everything, write the last line and every buffered one, and close the file.
   * Safe to call more than once.
   * @throws the file system's error if a write failed (the campaign itself is never interrupted by one).
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const detach of this.#detach.splice(0)) detach();
      this.#push({ type: 'end', t: nowSeconds() });
      this.#writeBuffered();
      process.off('exit', this.#onExit);
      await this.#writing;
      await this.#handle?.close();
      this.#handle = null;
      if (this.#writeError !== null) throw this.#writeError;
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Buffer one line. Called from listeners on the task path: no I/O here. */
  #push(record: RunLogRecord): void {
    if (this.#handle !== null) this.#pushLine(`${JSON.stringify(record)}\n`);
  }

  #pushLine(line: string): void {
    if (this.#handle === null) return;
    this.#lines.push(line);
    this.#chars += line.length;
    this.#records++;
    if (this.#chars >= this.#options.flushChars) {
      // Write on the next turn of the loop, not inside the listener.
      this.#immediate ??= setImmediate(() => this.#writeBuffered());
    } else if (this.#timer === null) {
      this.#timer = setTimeout(() => this.#writeBuffered(), this.#options.flushIntervalMs);
      this.#timer.unref();
    }
  }

  #writeBuffered(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#timer = null;
    this.#immediate = null;
    const handle = this.#handle;
    if (this.#lines.length === 0 || handle === null) return;
    const chunk = this.#lines.join('');
    this.#lines = [];
    this.#chars = 0;
    this.#writing = this.#writing.then(() => this.#writeChunk(handle, chunk));
  }

  async #writeChunk(handle: FileHandle, chunk: string): Promise<void> {
    if (this.#writeError !== null) return;
    try {
      await handle.appendFile(chunk);
    } catch (error) {
      // Keep the campaign going; the error surfaces from flush() and close().
      this.#writeError = error;
      this.#logger.error({ err: error, path: this.path }, 'the run log could not be written; later lines are dropped');
    }
  }

  /** On process exit without close(): put the buffered lines on disk synchronously. */
  #writeRemainingSync(): void {
    const handle = this.#handle;
    if (handle === null || this.#lines.length === 0 || this.#writeError !== null) return;
    try {
      writeSync(handle.fd, this.#lines.join(''));
      this.#lines = [];
    } catch {
      // Exiting: nowhere left to report it.
    }
  }

  #uniqueServerName(name: string): string {
    let unique = name;
    for (let n = 2; this.#serverNames.has(unique); n++) unique = `${name}-${n}`;
    this.#serverNames.add(unique);
    return unique;
  }

  #assertOpen(operation: string): void {
    if (this.#closing !== null) throw new InvalidStateError(`${operation}() on a closed run log (${this.path})`);
  }
}

function resolveOptions(options: RunLogOptions): ResolvedOptions {
  const flushIntervalMs = options.flushIntervalMs ?? 250;
  const flushChars = options.flushChars ?? 65_536;
  if (!Number.isFinite(flushIntervalMs) || flushIntervalMs <= 0) {
    throw new InvalidArgumentError(`flushIntervalMs must be a positive number of milliseconds, got ${String(options.flushIntervalMs)}`);
  }
  if (!Number.isSafeInteger(flushChars) || flushChars < 1) {
    throw new InvalidArgumentError(`flushChars must be a positive integer, got ${String(options.flushChars)}`);
  }
  const meta = options.meta ?? {};
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new InvalidArgumentError(`meta must be a plain object, got ${Array.isArray(meta) ? 'an array' : String(meta)}`);
  }
  return { flushIntervalMs, flushChars, meta, tasks: options.tasks === true };
}

/** `runs/<UTC time>/run.jsonl`, relative to the working folder: where campaigns log by default. */
export function defaultRunLogPath(now: Date = new Date()): string {
  return join('runs', now.toISOString().replace(/:/g, '-'), RUN_LOG_FILE);
}

/** The run log's file name in the folder of a campaign's run. */
export const RUN_LOG_FILE = 'run.jsonl';

/** The run log a path names: the path itself, or the {@link RUN_LOG_FILE} inside it when it is a folder. */
export function runLogIn(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? join(path, RUN_LOG_FILE) : path;
}
