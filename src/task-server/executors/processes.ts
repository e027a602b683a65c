import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { RUN_DIR_PARENT_VARIABLE } from '../../methods/launch-prepared.js';
import { acceleratorEnvironment } from '../../methods/launch-placement.js';
import { acceleratorGroups, devicesAsked, unfitDevices } from './accelerators.js';

export interface ProcessesExecutorOptions {
  /** Child processes to keep. @default the number of `accelerators` entries, else the machine's available parallelism */
  processes?: number;
  /**
   * Accelerators to pin the children to, one child per entry (Parsl's `available_accelerators`):
   * each child starts with CUDA_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES and
   * ZE_AFFINITY_MASK set to its entry, so a GPU runtime in it sees only its own device(s); the
   * executables it launches get the same variables. An entry is a device id (`'0'`, a UUID) or a
   * comma-separated set of them (`'0,1'`) for tasks that need several.
   *
   * A task needs `gpusPerRank × cpuProcesses` devices and runs on a free child holding at least
   * that many (the smallest such); a task that needs none runs on any child (and sees its
   * devices). A task needing more than any child holds fails at once, saying so. The ids are
   * recorded on the result's worker info (`gpu_ids`). `processes`, if given, must equal the
   * number of entries.
   * @default none: children are not pinned, and a task asking for GPUs fails
   */
  accelerators?: readonly string[];
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
  /** Accelerators it needs on its child. */
  devices: number;
  context: RunContext;
  resolve(reply: TaskReply): void;
}

interface Slot {
  child: ChildProcess;
  ready: Promise<void>;
  job: Job | null;
  /** Settles once the child has exited and what it left (processes, scratch folder) is gone. */
  gone: Promise<void>;
}

/** One place for a child: its devices stay with the lane when a dead child is replaced. */
interface Lane {
  devices: readonly string[];
  slot: Slot | null;
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
  readonly #lanes: Lane[];
  /** Devices of the best-equipped lane: a task needing more can never run here. */
  readonly #mostDevices: number;
  readonly #waiting: Job[] = [];
  #nextId = 0;
  #closed = false;

  constructor(name = 'processes', options: ProcessesExecutorOptions = {}) {
    this.name = name;
    const groups = options.accelerators === undefined ? null : acceleratorGroups(options.accelerators, `ProcessesExecutor '${name}'`);
    this.capacity = options.processes ?? groups?.length ?? availableParallelism();
    if (!Number.isInteger(this.capacity) || this.capacity < 1) {
      throw new InvalidArgumentError(`processes must be a positive integer, got ${String(options.processes)}`);
    }
    if (groups && groups.length !== this.capacity) {
      throw new InvalidArgumentError(
        `ProcessesExecutor '${name}': processes (${this.capacity}) must equal the number of accelerators entries (${groups.length}), one child per entry; leave processes out`,
      );
    }
    this.#lanes = Array.from({ length: this.capacity }, (_, index) => ({ devices: groups?.[index] ?? [], slot: null }));
    this.#mostDevices = Math.max(...this.#lanes.map((lane) => lane.devices.length));
    this.#graceMs = options.abortGraceMs ?? 50;
  }

  /** The device ids each child is pinned to (empty arrays without `accelerators`). */
  get accelerators(): readonly (readonly string[])[] {
    return this.#lanes.map((lane) => lane.devices);
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
    const devices = devicesAsked(payload);
    const unfit = unfitDevices(payload.method, devices, this.#mostDevices, this.name);
    if (unfit) return Promise.resolve(failedReply(workerInfo(this.name), unfit));
    return new Promise<TaskReply>((resolve) => {
      const job: Job = { id: this.#nextId++, spec, payload, devices, context, resolve };
      const signal = context.signal;
      if (signal?.aborted) return resolve(failedReply(workerInfo(this.name), signal.reason, abortReason(signal)));
      signal?.addEventListener('abort', () => this.#abort(job), { once: true });
      this.#waiting.push(job);
      this.#dispatch();
    });
  }

  /**
   * Start waiting tasks on free lanes, in order. With accelerators of mixed sizes a task that fits
   * no free lane lets the next ones by, and each takes the smallest free lane that fits it.
   */
  #dispatch(): void {
    for (let index = 0; index < this.#waiting.length; ) {
      const job = this.#waiting[index]!;
      const lane = this.#freeLane(job.devices);
      if (!lane) {
        if (this.#lanes.every((each) => each.slot?.job)) return;
        index++;
        continue;
      }
      this.#waiting.splice(index, 1);
      const slot = lane.slot ?? this.#spawn(lane);
      slot.job = job;
      const message: ToChild = { type: 'run', id: job.id, module: job.spec.module, exportName: job.spec.exportName, payload: job.payload };
      void slot.ready.then(() => {
        if (slot.job === job && slot.child.connected) slot.child.send(message);
      });
    }
  }

  /** The free lane with the fewest devices that still has `devices`, a live child preferred. */
  #freeLane(devices: number): Lane | undefined {
    let best: Lane | undefined;
    for (const lane of this.#lanes) {
      if (lane.slot?.job || lane.devices.length < devices) continue;
      const fewer = !best || lane.devices.length < best.devices.length;
      const sameButAlive = best && lane.devices.length === best.devices.length && !best.slot && lane.slot;
      if (fewer || sameButAlive) best = lane;
    }
    return best;
  }

  #spawn(lane: Lane): Slot {
    // Marks every program this child's executables start, so none outlives the child being killed.
    const token = newProcessToken();
    // Its executables' run directories: removed with the child, however it ends.
    const scratch = mkdtempSync(join(tmpdir(), 'colmena-worker-'));
    // Pinned at spawn: a GPU runtime reads its device variables once, when it starts.
    const env = { ...process.env, ...acceleratorEnvironment(lane.devices), [WORKER_TOKEN_VARIABLE]: token, [RUN_DIR_PARENT_VARIABLE]: scratch };
    const child = fork(new URL(WORKER_FILE), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
    // The stores this process was configured with, before any task: references name them by id only.
    child.send({ type: 'stores', configs: processStores.configs() } satisfies ToChild);
    if (lane.devices.length > 0) child.send({ type: 'pin', gpuIds: [...lane.devices] } satisfies ToChild);
    const slot: Slot = { child, job: null, ready: Promise.resolve(), gone: Promise.resolve() };
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
    slot.gone = new Promise<void>((resolve) => {
      child.on('exit', (code, signal) =>
        void sweepMarkedProcesses(WORKER_TOKEN_VARIABLE, token)
          .then(() => rm(scratch, { recursive: true, force: true }))
          .catch(() => {})
          .finally(() => {
            this.#onExit(lane, slot, code, signal);
            resolve();
          }),
      );
    });
    child.on('error', () => {}); // reported through 'exit'
    lane.slot = slot;
    return slot;
  }

  #finish(slot: Slot, job: Job, reply: TaskReply): void {
    if (slot.job !== job) return;
    slot.job = null;
    job.resolve(reply);
    this.#dispatch();
  }

  #onExit(lane: Lane, slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    if (lane.slot === slot) lane.slot = null;
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
    const slot = this.#lanes.find((lane) => lane.slot?.job === job)?.slot;
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
      this.#lanes.map(async ({ slot }) => {
        if (!slot) return;
        if (slot.child.exitCode === null && slot.child.signalCode === null) slot.child.kill('SIGKILL');
        await slot.gone;
      }),
    );
  }
}
