import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import type { TaskPayload, TaskReply } from '../../methods/envelope.js';
import { abortReason, failedReply, type RunContext, workerInfo } from '../../methods/run.js';
import type { MethodSpec } from '../../methods/spec.js';
import { siblingModule } from '../../common/sibling.js';
import type { Executor } from '../executor.js';
import type { MethodKind } from '../fit.js';
import type { FromChild, ToChild } from './process-worker.js';
import { processStores } from '../../proxy/store-registry.js';
import { InvalidArgumentError } from '../../common/errors.js';
import { newProcessToken, sweepMarkedProcesses, WORKER_TOKEN_VARIABLE } from '../../methods/launch-kill.js';

export interface ProcessesExecutorOptions {
  /** Child processes to keep. @default the machine's available parallelism */
  processes?: number;
  /**
   * After asking a child to stop a timed-out or cancelled task, wait this long for it to comply
   * (an executable is killed at once; a busy JavaScript loop cannot listen) before killing the
   * child itself. @default 50
   */
  abortGraceMs?: number;
}

const WORKER_FILE = siblingModule(import.meta.url, 'process-worker');

interface Job {
  id: number;
  spec: Extract<MethodSpec, { kind: 'module' }>;
  payload: TaskPayload;
  context: RunContext;
  resolve(reply: TaskReply): void;
}

interface Slot {
  child: ChildProcess;
  ready: Promise<void>;
  job: Job | null;
}

/**
 * Runs module methods in child processes, one task per process at a time: for code that must be
 * isolated (it may crash, leak, or call `process.exit`) and for executables. A child that dies
 * mid-task gives a failed result and is replaced; a timed-out or cancelled task is stopped (its
 * executable killed, or the child itself killed and replaced).
 */
export class ProcessesExecutor implements Executor {
  readonly name: string;
  readonly runs: readonly MethodKind[] = ['module-function', 'module-executable'];
  /** Child processes kept, each running one task at a time. */
  readonly capacity: number;
  readonly #graceMs: number;
  readonly #slots: Slot[] = [];
  readonly #waiting: Job[] = [];
  #nextId = 0;
  #closed = false;

  constructor(name = 'processes', options: ProcessesExecutorOptions = {}) {
    this.name = name;
    this.capacity = options.processes ?? availableParallelism();
    if (!Number.isInteger(this.capacity) || this.capacity < 1) {
      throw new InvalidArgumentError(`processes must be a positive integer, got ${String(options.processes)}`);
    }
    this.#graceMs = options.abortGraceMs ?? 50;
  }

  run(spec: MethodSpec, payload: TaskPayload, context: RunContext): Promise<TaskReply> {
    if (spec.kind !== 'module') {
      const error = new TypeError(
        `Method '${payload.method}' is not named by module and export, so a child process cannot load it. ` +
          `Declare it with moduleMethod(new URL('./file.js', import.meta.url), '${payload.method}', { executor: '${this.name}' }).`,
      );
      return Promise.resolve(failedReply(workerInfo(this.name), error));
    }
    if (this.#closed) return Promise.resolve(failedReply(workerInfo(this.name), new Error('The processes executor is closed')));
    return new Promise<TaskReply>((resolve) => {
      const job: Job = { id: this.#nextId++, spec, payload, context, resolve };
      const signal = context.signal;
      if (signal?.aborted) return resolve(failedReply(workerInfo(this.name), signal.reason, abortReason(signal)));
      signal?.addEventListener('abort', () => this.#abort(job), { once: true });
      this.#waiting.push(job);
      this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#waiting.length > 0) {
      let slot = this.#slots.find((s) => s.job === null);
      if (!slot && this.#slots.length < this.capacity) slot = this.#spawn();
      if (!slot) return;
      const job = this.#waiting.shift()!;
      slot.job = job;
      const message: ToChild = { type: 'run', id: job.id, module: job.spec.module, exportName: job.spec.exportName, payload: job.payload };
      void slot.ready.then(() => {
        if (slot.job === job && slot.child.connected) slot.child.send(message);
      });
    }
  }

  #spawn(): Slot {
    // Marks every program this child's executables start, so none outlives the child being killed.
    const token = newProcessToken();
    const env = { ...process.env, [WORKER_TOKEN_VARIABLE]: token };
    const child = fork(new URL(WORKER_FILE), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
    // The stores this process was configured with, before any task: references name them by id only.
    child.send({ type: 'stores', configs: processStores.configs() } satisfies ToChild);
    const slot: Slot = { child, job: null, ready: Promise.resolve() };
    slot.ready = new Promise<void>((resolve) => {
      child.on('message', (message: FromChild) => {
        if (message.type === 'ready') return resolve();
        const job = slot.job;
        if (!job || job.id !== message.id) return;
        if (message.type === 'intermediate') job.context.onIntermediate?.(message.item);
        else this.#finish(slot, job, message.reply);
      });
    });
    // The task's result waits for the sweep, so nothing the child started outlives its reply.
    child.on('exit', (code, signal) => void sweepMarkedProcesses(WORKER_TOKEN_VARIABLE, token).finally(() => this.#onExit(slot, code, signal)));
    child.on('error', () => {}); // reported through 'exit'
    this.#slots.push(slot);
    return slot;
  }

  #finish(slot: Slot, job: Job, reply: TaskReply): void {
    if (slot.job !== job) return;
    slot.job = null;
    job.resolve(reply);
    this.#dispatch();
  }

  #onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    this.#slots.splice(this.#slots.indexOf(slot), 1);
    const job = slot.job;
    slot.job = null;
    if (job) {
      const aborted = job.context.signal?.aborted;
      const reply = aborted
        ? failedReply(workerInfo(this.name), job.context.signal!.reason, abortReason(job.context.signal!))
        : failedReply(workerInfo(`process-${slot.child.pid}`), new Error(`The worker process exited mid-task (${signal ?? `code ${code}`})`), 'worker-crashed');
      job.resolve(reply);
    }
    if (!this.#closed) this.#dispatch();
  }

  #abort(job: Job): void {
    const queued = this.#waiting.indexOf(job);
    const signal = job.context.signal!;
    if (queued >= 0) {
      this.#waiting.splice(queued, 1);
      job.resolve(failedReply(workerInfo(this.name), signal.reason, abortReason(signal)));
      return;
    }
    const slot = this.#slots.find((s) => s.job === job);
    if (!slot) return;
    const reason = signal.reason as Error;
    if (slot.child.connected) slot.child.send({ type: 'abort', id: job.id, reason: { name: reason.name, message: reason.message } } satisfies ToChild);
    const timer = setTimeout(() => {
      if (slot.job === job) slot.child.kill('SIGKILL');
    }, this.#graceMs);
    timer.unref();
  }

  /** For `await using`: the same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#waiting.splice(0)) job.resolve(failedReply(workerInfo(this.name), new Error('The processes executor closed')));
    await Promise.all(
      [...this.#slots].map(async (slot) => {
        if (slot.child.exitCode !== null || slot.child.signalCode !== null) return;
        const exited = once(slot.child, 'exit');
        slot.child.kill('SIGKILL');
        await exited;
      }),
    );
  }
}
