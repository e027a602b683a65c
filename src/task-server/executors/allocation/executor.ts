import { invalidArgument } from '../../../common/errors.js';
import { isExecutableMethod } from '../../../methods/executable.js';
import { runWithPlacement } from '../../../methods/launch-placement.js';
import { type PreparedLaunch, runWithPreparedLaunch } from '../../../methods/launch-prepared.js';
import { loadModuleMethod } from '../../../methods/load.js';
import { abortReason, failedReply, type RunContext, runMethod, type TaskPayload, type TaskReply, workerInfo } from '../../../methods/run.js';
import type { MethodSpec } from '../../../methods/spec.js';
import { ResourceRequirements } from '../../../models/resources.js';
import type { Executor } from '../../executor.js';
import type { MethodKind } from '../../fit.js';
import type { Allocation } from './allocation.js';
import { NodePlacer, type NodePlacerOptions } from './placement.js';

/** Enough waiting tasks for any release to refill its nodes at once, without holding a file pair per core of a huge allocation. */
const DEFAULT_LOOKAHEAD_CAP = 64;

export interface AllocationExecutorOptions extends NodePlacerOptions {
  /** The nodes to place tasks on: `await discoverAllocation()`, `allocationFromList([...])`, … */
  allocation: Allocation;
  /**
   * Tasks taken from the server beyond those that can run at once, waiting here for nodes in
   * placement order: what lets a release start the next task in the same tick, and what backfill
   * chooses from. Their `timeoutMs` runs while they wait (tasks still in the server's line do not
   * count it). Each holds a prepared run directory and its two open output files.
   * @default as many as can run at once (nodes, or cores with `shareNodes`), at most 64
   */
  lookahead?: number;
}

/**
 * Runs executables on the nodes of an allocation: each task waits (FIFO, or with backfill) for
 * the nodes its resources ask for, its launch template is filled with them (`{hosts}`,
 * `{hostfile}`, …; see `LAUNCHERS`), its devices are exported (CUDA_VISIBLE_DEVICES and
 * equivalents), and the nodes come back only once every process it started is gone. The hosts and
 * device ids are recorded on the result's worker info (`hosts`, `gpu_ids`), with when the nodes were
 * held (`placed_at`, `released_at`, epoch seconds).
 *
 * The launcher (mpirun, srun, …) runs on this task server's host and starts the ranks on the
 * placed nodes; function tasks belong on the other executors.
 */
export class AllocationExecutor implements Executor {
  readonly name: string;
  readonly sharesMemory = true;
  // 'module-function' too: a module method is known to be an executable only once its module loads
  // (the fit check does that before the first task); run() refuses plain functions.
  readonly runs: readonly MethodKind[] = ['executable', 'module-function', 'module-executable'];
  readonly placer: NodePlacer;
  readonly allocation: Allocation;

  constructor(name: string, options: AllocationExecutorOptions) {
    this.name = name;
    this.allocation = options.allocation;
    this.placer = new NodePlacer(options.allocation, options);
    const runnable = options.shareNodes ? options.allocation.nodes.reduce((sum, node) => sum + node.cores, 0) : options.allocation.nodes.length;
    const lookahead = options.lookahead ?? Math.min(runnable, DEFAULT_LOOKAHEAD_CAP);
    if (!(Number.isSafeInteger(lookahead) && lookahead >= 0)) {
      throw invalidArgument('AllocationExecutor', 'lookahead', 'a whole number of tasks, 0 or more', options.lookahead);
    }
    this.capacity = runnable + lookahead;
  }

  /**
   * Tasks the server hands over at once: those that can run (one per node, or with `shareNodes`
   * up to one per core) plus the lookahead waiting for nodes. A slot comes back only with the
   * reply, after postprocessing, so without a lookahead freed nodes would wait for it.
   */
  readonly capacity: number;

  async run(spec: MethodSpec, payload: TaskPayload, context: RunContext): Promise<TaskReply> {
    const waitingWorker = workerInfo(this.name);
    let target;
    let prepared: PreparedLaunch | undefined;
    let lease;
    try {
      if (spec.kind === 'remote') throw new TypeError(`Method '${payload.method}' is remote; the allocation executor cannot run it`);
      target = spec.kind === 'inline' ? spec.fn : await loadModuleMethod(spec.module, spec.exportName);
      if (!isExecutableMethod(target)) {
        throw new TypeError(`Method '${payload.method}' is a function; the allocation executor runs only ExecutableMethods. Serve functions on the inline, threads or processes executor`);
      }
      // Run directory, output files, token and environment now, while the task waits for nodes:
      // once they are granted, only the template fill and the spawn remain.
      prepared = target.prepareLaunch();
      lease = await this.placer.place(new ResourceRequirements(payload.resources ?? {}), context.signal);
    } catch (error) {
      await prepared?.discard();
      if (context.signal?.aborted) return failedReply(waitingWorker, context.signal.reason, abortReason(context.signal));
      return failedReply(waitingWorker, error);
    }
    const worker = { ...waitingWorker, hosts: [...lease.hosts], gpu_ids: [...lease.gpuIds] };
    let reply: TaskReply;
    try {
      // The executable gives the nodes back the moment its launch has ended and its processes are
      // swept (a timed-out task holds them until its kill is complete), before postprocessing;
      // this release covers every other ending (nothing launched, a failing preprocess).
      const launching = prepared;
      reply = await runWithPlacement(lease, () => runWithPreparedLaunch(launching, () => runMethod(target, payload, worker, context)));
    } finally {
      lease.release();
      // Nothing if the launch claimed it (it cleans up after itself).
      await prepared.discard();
    }
    // When the nodes were held (epoch seconds): the compute timestamps also cover postprocessing,
    // which runs after the nodes went to the next task.
    return { ...reply, workerInfo: { ...reply.workerInfo, placed_at: lease.grantedAt, released_at: lease.releasedAt } };
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {}
}
