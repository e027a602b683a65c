/**
 * colmena: steer large campaigns of simulations with AI.
 *
 * The core: models, in-process queues, methods, local executors, thinker, run log and reports.
 * It loads neither ioredis, hono nor zod; those live behind `colmena/redis`, `colmena/bullmq` and
 * `colmena/dashboard`, so a worker thread or a small script starts fast.
 */
export {
  ColmenaError,
  ColmenaTimeoutError,
  InvalidArgumentError,
  InvalidMessageError,
  InvalidStateError,
  MessageTooLargeError,
  SerializationError,
  TaskCancelledError,
  TaskTimeoutError,
  UnknownTopicError,
  type ColmenaErrorCode,
} from './common/errors.js';
export { childLogger, rootLogger, type Logger } from './common/logging.js';

export { Result, type TaskInit } from './models/result.js';
export { fromColmenaJSON } from './models/colmena-json-read.js';
export { ResourceRequirements, type ResourceRequirementsInit } from './models/resources.js';
export type { Durations, Timestamps } from './models/timing.js';
export type { FailedAttempt, FailureInformation, WorkerInformation } from './models/failure.js';
export type { AnyMethod, AnyResult, MethodArgs, MethodMap, MethodValue } from './models/method-types.js';
export {
  decodeValue,
  encodeValue,
  type Encoded,
  type EncodedInputs,
  type SerializationMethod,
} from './models/serialization.js';

export {
  ColmenaQueues,
  type QueueEvents,
  type QueueRole,
  type QueuesOptions,
  type SendOptions,
  type ServerMessage,
} from './queue/base.js';
export { LocalQueues } from './queue/local.js';

export { inlineMethod, moduleMethod, remoteMethod, type MethodOptions, type MethodSpec, type MethodsOf } from './methods/spec.js';
export type { GeneratorMode, IntermediateReply, TaskPayload, TaskReply } from './methods/envelope.js';
export type { RunContext } from './methods/run.js';
export { taskContext, type TaskContext } from './methods/task-context.js';
export {
  ExecutableFailedError,
  ExecutableMethod,
  fillLaunchTemplate,
  type ExecutableMethodOptions,
  type ExecutableOutcome,
  type PreparedRun,
} from './methods/executable.js';
export { LAUNCHERS, type LaunchTemplate } from './methods/launch-template.js';
export { BASE_ENV_PREFIXES, BASE_ENV_VARIABLES } from './methods/launch-env.js';
export type { Placement } from './methods/launch-placement.js';

export { BaseTaskServer, type TaskServerEvents, type TaskServerOptions } from './task-server/base.js';
export { LocalTaskServer, type LocalTaskServerOptions } from './task-server/local.js';
export type { Executor } from './task-server/executor.js';
export type { MethodKind } from './task-server/fit.js';
export { InlineExecutor } from './task-server/executors/inline.js';
export { ThreadsExecutor, type ThreadsExecutorOptions } from './task-server/executors/threads.js';
export { ProcessesExecutor, type ProcessesExecutorOptions } from './task-server/executors/processes.js';
export {
  type Allocation, type AllocationNode, type NodeShape, allocationFromHostfile, allocationFromList, allocationFromPbs,
  allocationFromSlurm, AllocationExecutor, type AllocationExecutorOptions, discoverAllocation, NodePlacer,
  type NodePlacerOptions, type PlacementEvent, type PlacementLease,
} from './task-server/executors/allocation/index.js';
export { type SlurmBlock, SlurmProvider, type SlurmProviderOptions } from './task-server/providers/slurm.js';

export type { WaitOptions } from './common/abort.js';
export { AsyncQueue } from './common/async-queue.js';

export {
  AsyncEvent,
  AgentFailedError,
  BaseThinker,
  Reallocator,
  ResourceCounter,
  ThinkerDefinitionError,
  UnknownPoolError,
  WorkQueue,
  agent,
  eventResponder,
  resultProcessor,
  taskSubmitter,
  type AgentInfo,
  type AgentKind,
  type AgentOptions,
  type EventResponderOptions,
  type PoolName,
  type PoolState,
  type ReallocateOptions,
  type ReallocationPlan,
  type ReallocatorOptions,
  type ReleaseOptions,
  type ResourceChange,
  type ResourceCounterEvents,
  type ResultOf,
  type ResultProcessorOptions,
  type TaskSubmitterOptions,
  type ThinkerEvents,
  type ThinkerMethodDecorator,
  type ThinkerOptions,
  type ThinkerState,
  type WorkQueueOptions,
  type InFlightChoice,
  type ResumeOptions,
  type ResumeSource,
  type ResumeSummary,
  runWithinWalltime,
  type ThinkerWalltimeOptions,
  type WalltimeOutcome,
} from './thinker/index.js';
export { stopAtWalltime, Walltime, type WalltimeOptions, type WalltimeReason } from './common/deadline.js';

export { FileStore } from './proxy/file-store.js';
export { MemoryStore } from './proxy/memory-store.js';
export type { ObjectStore, StoreConfig, TransferStats } from './proxy/store.js';
export { configureStores } from './proxy/store-registry.js';
export { openConfiguredStores } from './proxy/configured-stores.js';
export { ProxyHandle } from './models/value-proxy.js';
export { ProxyResolutionError, type ProxyTiming } from './proxy/proxy.js';
export type { ProxyOptions } from './queue/base.js';

export { RunLog, defaultRunLogPath, type AttachTaskServerOptions, type RunLogOptions } from './monitor/run-log/run-log.js';
export { readRunLog, type ParsedRunLog, type RunLogProblem } from './monitor/run-log/reader.js';
export { readCampaignRecord, type CampaignRecord } from './monitor/run-log/campaign-record.js';
export { summarize, type MethodSummary, type RunSummary } from './monitor/report/stats.js';
export { writeReport, type Report, type ReportOptions } from './monitor/report/report.js';
export { chromeTrace, type ChromeTrace, type TraceEvent } from './monitor/report/trace.js';
export { nodesOf, type ResultRecord, type RunLogRecord } from './monitor/run-log/records.js';

