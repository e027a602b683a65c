/**
 * colmena: steer large campaigns of simulations with AI.
 *
 * The core import has no optional heavy dependencies; the Redis transport lives at `colmena/redis`.
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
} from './errors.js';
export { childLogger, rootLogger, type Logger } from './logging.js';

export { Result, type TaskInit } from './models/result.js';
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
export { decodeWireMessage, encodeWireMessage } from './models/wire.js';

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
export type { GeneratorMode, IntermediateReply, RunContext, TaskPayload, TaskReply } from './methods/run.js';
export {
  ExecutableFailedError,
  ExecutableMethod,
  fillLaunchTemplate,
  type ExecutableMethodOptions,
  type ExecutableOutcome,
  type PreparedRun,
} from './methods/executable.js';

export { BaseTaskServer, type TaskServerEvents, type TaskServerOptions } from './task-server/base.js';
export { LocalTaskServer, type LocalTaskServerOptions } from './task-server/local.js';
export type { Executor } from './task-server/executor.js';
export { InlineExecutor } from './task-server/inline-executor.js';
export { ThreadsExecutor, type ThreadsExecutorOptions } from './task-server/threads-executor.js';
export { ProcessesExecutor, type ProcessesExecutorOptions } from './task-server/processes-executor.js';

export type { WaitOptions } from './util/abort.js';
export { AsyncQueue } from './util/async-queue.js';
