import { InvalidArgumentError } from '../../../common/errors.js';
import type { StopSignal } from '../../../common/stop-signal.js';
import { nowSeconds } from '../../../models/clock.js';
import type { Placement } from '../../../methods/launch-placement.js';
import type { ResourceRequirements } from '../../../models/resources.js';
import type { Allocation, AllocationNode } from './allocation.js';

export interface NodePlacerOptions {
  /**
   * Let a later task start when the first waiting one does not fit but it does (aggressive
   * backfill: a large task may wait longer while small ones keep slipping in). @default false (strict FIFO)
   */
  backfill?: boolean;
  /**
   * Put single-node tasks on a share of a node (their cores and GPUs) instead of a whole node.
   * Multi-node tasks always get whole nodes. @default false
   */
  shareNodes?: boolean;
}

/** A granted placement; `release()` gives its nodes back (idempotent). */
export interface PlacementLease extends Placement {
  release(): void;
  /** When the nodes were granted and given back (epoch seconds, like a Result's timestamps). */
  readonly grantedAt: number;
  readonly releasedAt: number | undefined;
}

/**
 * What the placer did, in order, for reports and for checking it never oversubscribes (`at` is
 * `performance.now()`). `launch` and `exit` are the task's launcher starting and exiting, as the
 * executable reports them: a launch is reported on its `spawn` event, `at` when `spawn()` returned
 * (the launcher exists from then), with the ms `spawn()` itself took and when the event came.
 */
export type PlacementEvent =
  | { kind: 'request'; id: number; at: number }
  | { kind: 'grant'; id: number; at: number; hosts: readonly string[] }
  | { kind: 'launch'; id: number; at: number; pid: number; spawnMs: number; spawnEventAt: number }
  | { kind: 'exit'; id: number; at: number }
  | { kind: 'release'; id: number; at: number }
  | { kind: 'withdraw'; id: number; at: number };

interface NodeState {
  node: AllocationNode;
  freeCores: number;
  freeGpus: string[];
  /** Held whole by one task. */
  whole: boolean;
}

interface Waiter {
  id: number;
  nodeCount: number;
  ranksPerNode: number;
  cores: number;
  gpus: number;
  whole: boolean;
  grant(lease: PlacementLease): void;
}

/**
 * Hands out the nodes of an allocation: each task gets `nodeCount` whole nodes (or, with
 * `shareNodes`, a single-node task gets its cores and GPUs on one node), in FIFO order, never more
 * than exist; nodes come back the moment `release()` is called.
 */
export class NodePlacer {
  readonly #nodes: NodeState[];
  readonly #options: Required<NodePlacerOptions>;
  readonly #waiting: Waiter[] = [];
  #nextId = 0;
  /** Receives every request, grant, release and withdrawal. */
  onEvent?: (event: PlacementEvent) => void;

  constructor(allocation: Allocation, options: NodePlacerOptions = {}) {
    if (allocation.nodes.length === 0) throw new InvalidArgumentError('NodePlacer needs an allocation with at least one node');
    this.#nodes = allocation.nodes.map((node) => ({ node, freeCores: node.cores, freeGpus: [...node.gpuIds], whole: false }));
    this.#options = { backfill: options.backfill ?? false, shareNodes: options.shareNodes ?? false };
  }

  /** Nodes held by at least one task. */
  get busyNodes(): number {
    return this.#nodes.filter((state) => state.whole || state.freeCores < state.node.cores || state.freeGpus.length < state.node.gpuIds.length).length;
  }

  get nodeCount(): number {
    return this.#nodes.length;
  }

  /** Tasks waiting for nodes. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Wait for a placement fitting `resources`; refuses at once what this allocation can never hold. */
  place(resources: ResourceRequirements, signal?: StopSignal): Promise<PlacementLease> {
    signal?.throwIfAborted();
    const whole = resources.nodeCount > 1 || !this.#options.shareNodes;
    const waiter = { id: this.#nextId++, nodeCount: resources.nodeCount, ranksPerNode: resources.cpuProcesses, cores: resources.coresPerNode, gpus: resources.gpusPerNode, whole };
    this.#refuseImpossible(waiter, resources);
    return new Promise<PlacementLease>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#waiting.findIndex((w) => w.id === waiter.id);
        if (index < 0) return;
        this.#waiting.splice(index, 1);
        this.onEvent?.({ kind: 'withdraw', id: waiter.id, at: performance.now() });
        reject(signal!.reason);
        // A withdrawn head may have been what held the others back.
        this.#dispatch();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push({
        ...waiter,
        grant: (lease) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(lease);
        },
      });
      this.onEvent?.({ kind: 'request', id: waiter.id, at: performance.now() });
      this.#dispatch();
    });
  }

  #refuseImpossible(waiter: Omit<Waiter, 'grant'>, resources: ResourceRequirements): void {
    const fitting = this.#nodes.filter((state) => state.node.cores >= waiter.cores && state.node.gpuIds.length >= waiter.gpus).length;
    if (fitting < waiter.nodeCount) {
      const shapes = this.#nodes.map((state) => `${state.node.name}: ${state.node.cores} cores, ${state.node.gpuIds.length} GPUs`).join('; ');
      throw new InvalidArgumentError(
        `A task asking for ${JSON.stringify(resources.toJSON())} (${waiter.nodeCount} node(s) with ${waiter.cores} cores and ${waiter.gpus} GPUs each) ` +
          `can never be placed on this allocation (${shapes}). Lower nodeCount, cpuProcesses × cpuThreads or gpusPerRank.`,
      );
    }
  }

  /** Grant every waiter that fits, in order; without backfill, stop at the first that does not. */
  #dispatch(): void {
    for (let i = 0; i < this.#waiting.length; ) {
      const waiter = this.#waiting[i]!;
      const chosen = this.#choose(waiter);
      if (!chosen) {
        if (!this.#options.backfill) return;
        i++;
        continue;
      }
      this.#waiting.splice(i, 1);
      waiter.grant(this.#take(waiter, chosen));
    }
  }

  #choose(waiter: Waiter): NodeState[] | undefined {
    if (waiter.whole) {
      const free = this.#nodes.filter((s) => !s.whole && s.freeCores === s.node.cores && s.freeGpus.length === s.node.gpuIds.length);
      const fitting = free.filter((s) => s.node.cores >= waiter.cores && s.node.gpuIds.length >= waiter.gpus);
      return fitting.length >= waiter.nodeCount ? fitting.slice(0, waiter.nodeCount) : undefined;
    }
    // A share of one node: the fullest node that still fits, to keep whole nodes free for big tasks.
    const candidates = this.#nodes.filter((s) => !s.whole && s.freeCores >= waiter.cores && s.freeGpus.length >= waiter.gpus);
    candidates.sort((a, b) => a.freeCores - b.freeCores);
    return candidates.length > 0 ? [candidates[0]!] : undefined;
  }

  #take(waiter: Waiter, chosen: NodeState[]): PlacementLease {
    const cores = waiter.whole ? chosen[0]!.node.cores : waiter.cores;
    // Multi-node tasks get the same device ids on every node (nodes are whole, so they are free).
    const gpuIds = chosen[0]!.freeGpus.slice(0, waiter.gpus);
    const held = chosen.map((state) => {
      const taken = waiter.whole ? state.freeGpus.slice(0, waiter.gpus) : gpuIds;
      if (waiter.whole) state.whole = true;
      else {
        state.freeCores -= waiter.cores;
        state.freeGpus = state.freeGpus.filter((id) => !taken.includes(id));
      }
      return state;
    });
    const hosts = held.map((state) => state.node.name);
    this.onEvent?.({ kind: 'grant', id: waiter.id, at: performance.now(), hosts });
    let releasedAt: number | undefined;
    const launchEvent = (event: PlacementEvent): void => {
      if (releasedAt === undefined) this.onEvent?.(event);
    };
    return {
      hosts,
      ranksPerNode: waiter.ranksPerNode,
      coresPerNode: cores,
      gpuIds,
      grantedAt: nowSeconds(),
      get releasedAt() {
        return releasedAt;
      },
      launched: (pid, { spawnCalled, spawnReturned }) =>
        launchEvent({ kind: 'launch', id: waiter.id, at: spawnReturned, pid, spawnMs: spawnReturned - spawnCalled, spawnEventAt: performance.now() }),
      launcherExited: () => launchEvent({ kind: 'exit', id: waiter.id, at: performance.now() }),
      release: () => {
        if (releasedAt !== undefined) return;
        releasedAt = nowSeconds();
        for (const state of held) {
          if (waiter.whole) state.whole = false;
          else {
            state.freeCores += waiter.cores;
            state.freeGpus.push(...gpuIds);
          }
        }
        this.onEvent?.({ kind: 'release', id: waiter.id, at: performance.now() });
        // The waiters these nodes let in are granted now, in the same tick the launch ended.
        this.#dispatch();
      },
    };
  }
}
