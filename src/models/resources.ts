import { InvalidArgumentError } from '../common/errors.js';
/** The compute a task asks for; an MPI launch is sized from it. */
export interface ResourceRequirementsInit {
  /** Nodes to spread the task over. @default 1 */
  nodeCount?: number;
  /** MPI ranks per node. @default 1 */
  cpuProcesses?: number;
  /** Threads per rank (e.g. OMP_NUM_THREADS). @default 1 */
  cpuThreads?: number;
  /**
   * Accelerators (GPUs) per rank: a task gets `cpuProcesses × gpusPerRank` devices on each of
   * its nodes, exported as CUDA_VISIBLE_DEVICES (and the ROCm / Level Zero equivalents) by an
   * allocation executor. Not part of Python Colmena's ResourceRequirements: local to this side.
   * @default 0
   */
  gpusPerRank?: number;
}

export class ResourceRequirements {
  readonly nodeCount: number;
  readonly cpuProcesses: number;
  readonly cpuThreads: number;
  readonly gpusPerRank: number;

  constructor(init: ResourceRequirementsInit = {}) {
    this.nodeCount = positiveInteger('nodeCount', init.nodeCount ?? 1);
    this.cpuProcesses = positiveInteger('cpuProcesses', init.cpuProcesses ?? 1);
    this.cpuThreads = positiveInteger('cpuThreads', init.cpuThreads ?? 1);
    const gpus = init.gpusPerRank ?? 0;
    if (!Number.isInteger(gpus) || gpus < 0) {
      throw new InvalidArgumentError(`ResourceRequirements.gpusPerRank must be a non-negative integer, got ${String(gpus)}`);
    }
    this.gpusPerRank = gpus;
  }

  /** Ranks across all nodes: `nodeCount × cpuProcesses`. */
  get totalRanks(): number {
    return this.nodeCount * this.cpuProcesses;
  }

  /** Cores the task holds on each node: ranks per node × threads per rank. */
  get coresPerNode(): number {
    return this.cpuProcesses * this.cpuThreads;
  }

  /** Accelerators the task holds on each node. */
  get gpusPerNode(): number {
    return this.cpuProcesses * this.gpusPerRank;
  }

  /**
   * The three Colmena fields, plus `gpusPerRank` only when set, so records stay as Python writes
   * them. Readers must take a missing `gpusPerRank` as 0 (hence the cast).
   */
  toJSON(): Required<ResourceRequirementsInit> {
    const json = { nodeCount: this.nodeCount, cpuProcesses: this.cpuProcesses, cpuThreads: this.cpuThreads };
    return (this.gpusPerRank > 0 ? { ...json, gpusPerRank: this.gpusPerRank } : json) as Required<ResourceRequirementsInit>;
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(`ResourceRequirements.${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
