import { InvalidArgumentError } from '../common/errors.js';
/** The compute a task asks for; an MPI launch is sized from it. */
export interface ResourceRequirementsInit {
  /** Nodes to spread the task over. @default 1 */
  nodeCount?: number;
  /** MPI ranks per node. @default 1 */
  cpuProcesses?: number;
  /** Threads per rank (e.g. OMP_NUM_THREADS). @default 1 */
  cpuThreads?: number;
}

export class ResourceRequirements {
  readonly nodeCount: number;
  readonly cpuProcesses: number;
  readonly cpuThreads: number;

  constructor(init: ResourceRequirementsInit = {}) {
    this.nodeCount = positiveInteger('nodeCount', init.nodeCount ?? 1);
    this.cpuProcesses = positiveInteger('cpuProcesses', init.cpuProcesses ?? 1);
    this.cpuThreads = positiveInteger('cpuThreads', init.cpuThreads ?? 1);
  }

  /** Ranks across all nodes: `nodeCount × cpuProcesses`. */
  get totalRanks(): number {
    return this.nodeCount * this.cpuProcesses;
  }

  toJSON(): Required<ResourceRequirementsInit> {
    return { nodeCount: this.nodeCount, cpuProcesses: this.cpuProcesses, cpuThreads: this.cpuThreads };
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(`ResourceRequirements.${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
