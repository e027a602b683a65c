export {
  type Allocation, type AllocationNode, type NodeShape, allocationFromHostfile, allocationFromHostfileText, allocationFromList,
  allocationFromPbs, allocationFromSlurm, discoverAllocation, expandSlurmCounts,
} from './allocation.js';
export { NodePlacer, type NodePlacerOptions, type PlacementEvent, type PlacementLease } from './placement.js';
export { AllocationExecutor, type AllocationExecutorOptions } from './executor.js';
