import { InvalidArgumentError } from '../common/errors.js';
import { needsProxiesResolvedHere, runWithProxiesResolvedHere } from '../methods/proxies-here.js';
import type { RunContext, TaskPayload, TaskReply } from '../methods/run.js';
import type { MethodSpec } from '../methods/spec.js';
import type { Result } from '../models/result.js';
import type { ColmenaQueues } from '../queue/base.js';
import { BaseTaskServer, type TaskServerOptions } from './base.js';
import type { Executor } from './executor.js';
import type { ObjectStore } from '../proxy/store.js';
import { configureStores } from '../proxy/store-registry.js';
import { ExecutorSlots } from './executor-slots.js';
import { checkFit, checkModuleExports, declaredKind } from './fit.js';
import { InlineExecutor } from './executors/inline.js';
import { ProcessesExecutor } from './executors/processes.js';
import { ThreadsExecutor } from './executors/threads.js';

export interface LocalTaskServerOptions<S extends Record<string, MethodSpec>> extends TaskServerOptions {
  /** The methods served, by name. */
  methods: S;
  /** Worker threads of the built-in `threads` executor. @default available parallelism */
  threads?: number;
  /** Child processes of the built-in `processes` executor. @default available parallelism */
  processes?: number;
  /** More executors (or replacements for `inline` / `threads`), by the name methods refer to. */
  executors?: Record<string, Executor>;
  /**
   * Object stores that references in requests may name (by id), besides those of queues in this
   * process. Worker threads and child processes get them at pool start. @default []
   */
  stores?: readonly ObjectStore[];
}

/**
 * A task server on this machine. Methods declared with `inlineMethod` run on its event loop;
 * methods declared with `moduleMethod` run on a pool of worker threads, or in child processes
 * with `{ executor: 'processes' }`. Any method may name another executor.
 *
 * @example
 * const server = new LocalTaskServer(queues, { methods: { add: moduleMethod(url, 'add') }, threads: 2 });
 * server.start();
 */
export class LocalTaskServer<S extends Record<string, MethodSpec> = Record<string, MethodSpec>> extends BaseTaskServer {
  readonly #methods: Map<string, MethodSpec>;
  readonly #names: readonly string[];
  readonly #executors = new Map<string, Executor>();
  /** Per method, its spec, executor and that executor's slots, so each task does one lookup. */
  readonly #routes = new Map<string, Route>();

  constructor(queues: ColmenaQueues, options: LocalTaskServerOptions<S>) {
    super(queues, options);
    // Before the executors start their pools, which get the stores known by then.
    configureStores(options.stores ?? []);
    this.#methods = new Map(Object.entries(options.methods));
    this.#names = Object.freeze([...this.#methods.keys()]);
    const custom = options.executors ?? {};
    const needed = new Set([...this.#methods.values()].map((spec) => spec.executor));
    for (const name of needed) {
      const executor = custom[name] ?? builtIn(name, options);
      if (!executor) {
        const using = [...this.#methods].filter(([, spec]) => spec.executor === name).map(([method]) => method);
        throw new InvalidArgumentError(
          `Method(s) ${using.join(', ')} use executor '${name}', which this server does not have. ` +
            `Built in: inline, threads, processes; given: ${Object.keys(custom).join(', ') || '(none)'}.`,
        );
      }
      this.#executors.set(name, executor);
    }
    for (const [method, spec] of this.#methods) checkFit(method, declaredKind(spec), this.#executors.get(spec.executor)!);
    // One count per executor, shared by every method mapped to it.
    const slotsByExecutor = new Map<string, ExecutorSlots>();
    for (const [name, executor] of this.#executors) {
      if (executor.capacity === undefined) continue;
      const slots = new ExecutorSlots(executor.capacity, name);
      executor.watchUnavailable?.((count) => slots.setUnavailable(count));
      slotsByExecutor.set(name, slots);
    }
    for (const [method, spec] of this.#methods) {
      this.#routes.set(method, { spec, executor: this.#executors.get(spec.executor)!, slots: slotsByExecutor.get(spec.executor) ?? null });
    }
  }

  protected override slotsFor(task: Result): ExecutorSlots | null {
    return this.#routes.get(task.method)!.slots;
  }

  protected override timedByExecutor(task: Result): boolean {
    return this.#routes.get(task.method)!.executor.timesTasks === true;
  }

  /** Each module method's export is loaded once, here, before the first task: a misspelt name stops the server at once. */
  protected override prepare(): Promise<void> {
    return checkModuleExports(this.#methods, this.#executors);
  }

  /**
   * Twice what the executors run at once, and at least 64: a worker thread needs a queue of its
   * own to stay busy on short tasks (2 threads: ~5,000 no-op tasks/s with a window of 4, ~13,000
   * with 64). Tasks beyond an executor's capacity wait in the server for a slot, so their
   * `timeoutMs` does not start while they wait.
   */
  protected override defaultWindow(): number {
    let capacity = 0;
    for (const executor of this.#executors.values()) capacity += executor.capacity ?? 32;
    return Math.max(64, 2 * capacity);
  }

  get methodNames(): readonly string[] {
    return this.#names;
  }

  protected override execute(task: Result, context: RunContext): Promise<TaskReply> {
    const { spec, executor } = this.#routes.get(task.method)!;
    const payload: TaskPayload = {
      method: task.method,
      serializationMethod: task.serializationMethod,
      inputs: task.inputs,
    };
    // Only executables and methods given their task context read the resources; skip the copy into the worker in the common case.
    const { resources } = task;
    if (spec.taskContext || resources.totalRanks > 1 || resources.cpuThreads > 1 || resources.gpusPerRank > 0) payload.resources = resources.toJSON();
    if (spec.taskContext) payload.task = { taskId: task.taskId, topic: task.topic };
    if (spec.generator) payload.generator = spec.generator;
    if (spec.params) payload.params = spec.params;
    if (spec.streamTopic) payload.streamTopic = spec.streamTopic;
    if (task.valueProxy) payload.valueProxy = task.valueProxy;
    if (executor.timesTasks && task.timeoutMs !== null) payload.timeoutMs = task.timeoutMs;
    if (!executor.sharesMemory && needsProxiesResolvedHere(payload)) {
      // A memory store is reachable only from this thread.
      return runWithProxiesResolvedHere(payload, executor.name, (local) => executor.run(spec, local, context));
    }
    return executor.run(spec, payload, context);
  }

  protected override async shutdown(): Promise<void> {
    await Promise.all([...this.#executors.values()].map((executor) => executor.close()));
  }
}

/** Where a method's tasks go. */
interface Route {
  spec: MethodSpec;
  executor: Executor;
  /** Absent when the executor declares no capacity. */
  slots: ExecutorSlots | null;
}

function builtIn(name: string, options: { threads?: number; processes?: number; queueTimeoutMs?: number }): Executor | undefined {
  if (name === 'inline') return new InlineExecutor();
  // Its tasks wait on the threads' own queues, which the server's queueTimeoutMs does not see.
  if (name === 'threads') return new ThreadsExecutor('threads', { threads: options.threads, queueTimeoutMs: options.queueTimeoutMs });
  if (name === 'processes') return new ProcessesExecutor('processes', { processes: options.processes });
  return undefined;
}
