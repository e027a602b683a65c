import { AsyncLocalStorage } from 'node:async_hooks';

/** Where one task was placed on an allocation: what its launch template and environment are filled from. */
export interface Placement {
  /** Host names of the task's nodes, in order. */
  hosts: readonly string[];
  /** Ranks to start on each node (the task's `cpuProcesses`). */
  ranksPerNode: number;
  /** Cores reserved on each node. */
  coresPerNode: number;
  /** Accelerator ids reserved on each node (the same ids on every node of a multi-node task). */
  gpuIds: readonly string[];
  /**
   * Called on the launcher's `spawn` event, with when (`performance.now()`) `spawn()` was called
   * and returned (the process exists and has exec'd the launcher from then on).
   */
  launched?(pid: number, at: { spawnCalled: number; spawnReturned: number }): void;
  /** Called when the launcher has exited, before its leftovers are swept. */
  launcherExited?(): void;
  /**
   * Called once the launch has ended and every process it started is gone: the nodes go to the
   * next task at once, not after postprocessing and run-directory cleanup. Idempotent.
   */
  release?(): void;
}

const current = new AsyncLocalStorage<Placement>();

/** Run `fn` with `placement` visible to the executables it launches. */
export function runWithPlacement<T>(placement: Placement, fn: () => T): T {
  return current.run(placement, fn);
}

/** The placement of the task running here, if an allocation executor placed it. */
export function currentPlacement(): Placement | undefined {
  return current.getStore();
}

/** The device variables of each accelerator runtime, all set to the task's ids. */
export function acceleratorEnvironment(gpuIds: readonly string[]): Record<string, string> {
  if (gpuIds.length === 0) return {};
  const ids = gpuIds.join(',');
  return { CUDA_VISIBLE_DEVICES: ids, ROCR_VISIBLE_DEVICES: ids, HIP_VISIBLE_DEVICES: ids, ZE_AFFINITY_MASK: ids };
}
