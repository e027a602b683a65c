/** The Thinker layer: agents that steer a campaign, and the tools they share. */
export { BaseThinker, type ThinkerEvents, type ThinkerOptions, type ThinkerState } from './base.js';
export {
  agent,
  eventResponder,
  resultProcessor,
  taskSubmitter,
  type AgentOptions,
  type EventResponderOptions,
  type ResultOf,
  type ResultProcessorOptions,
  type TaskSubmitterOptions,
  type ThinkerMethodDecorator,
} from './decorators.js';
export type { AgentInfo, AgentKind, ReallocationPlan } from './metadata.js';
export { AsyncEvent } from './async-event.js';
export {
  ResourceCounter,
  type PoolName,
  type PoolState,
  type ReallocateOptions,
  type ReleaseOptions,
  type ResourceChange,
  type ResourceCounterEvents,
} from './resource-counter.js';
export { Reallocator, type ReallocatorOptions } from './reallocator.js';
export { WorkQueue, type WorkQueueOptions } from './work-queue.js';
export type { InFlightChoice, ResumeOptions, ResumeSource, ResumeSummary } from './resume.js';
export { runWithinWalltime, type ThinkerWalltimeOptions, type WalltimeOutcome } from './resume-walltime.js';
export { AgentFailedError, ThinkerDefinitionError, UnknownPoolError } from '../common/errors.js';
