/**
 * One error hierarchy for the whole library. Every error has a stable `code` so callers can
 * branch on it without matching message text. Task failures are *not* thrown: they travel as data
 * on the {@link Result}; these errors are for misuse of the API and for transport problems.
 */
export type ColmenaErrorCode =
  | 'UNKNOWN_TOPIC'
  | 'SERIALIZATION'
  | 'INVALID_MESSAGE'
  | 'MESSAGE_TOO_LARGE'
  | 'WAIT_TIMEOUT'
  | 'TASK_TIMEOUT'
  | 'INVALID_STATE'
  | 'INVALID_ARGUMENT'
  | 'CONNECTION'
  | 'AGENT_FAILED'
  | 'CANCELLED'
  | 'EXECUTABLE_FAILED'
  | 'PROXY';

export class ColmenaError extends Error {
  readonly code: ColmenaErrorCode;
  constructor(code: ColmenaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A topic that the queues were not created with. */
export class UnknownTopicError extends ColmenaError {
  constructor(topic: string, known: readonly string[]) {
    super(
      'UNKNOWN_TOPIC',
      `Unknown topic '${topic}'. These queues have: ${known.join(', ')}. ` +
        `Add it to the 'topics' option when creating the queues.`,
    );
  }
}

/** A value that the chosen serialization method cannot encode or decode. */
export class SerializationError extends ColmenaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SERIALIZATION', message, options);
  }
}

/** A message on the wire that does not match Colmena's format. */
export class InvalidMessageError extends ColmenaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_MESSAGE', message, options);
  }
}

/** A message larger than the transport accepts. */
export class MessageTooLargeError extends ColmenaError {
  constructor(bytes: number, limit: number) {
    super(
      'MESSAGE_TOO_LARGE',
      `Message of ${bytes} bytes exceeds the limit of ${limit} bytes. ` +
        `Pass large values through an object store, or raise 'maxMessageBytes'.`,
    );
  }
}

/** A wait that ran out of time. */
export class ColmenaTimeoutError extends ColmenaError {
  constructor(what: string, timeoutMs: number) {
    super('WAIT_TIMEOUT', `Timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

/** An operation that the object's current lifecycle state does not allow. */
export class InvalidStateError extends ColmenaError {
  constructor(message: string) {
    super('INVALID_STATE', message);
  }
}

/**
 * An argument or option outside what an API accepts: the one error for bad input to the library,
 * thrown before anything starts. Build it with {@link invalidArgument} so every message names the
 * option, what it must be, and what was given.
 */
export class InvalidArgumentError extends ColmenaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/**
 * The error for one bad option: `invalidArgument('ThreadsExecutor', 'threads', 'a positive integer', 0)`
 * says "ThreadsExecutor: threads must be a positive integer, got 0".
 */
export function invalidArgument(owner: string, option: string, expected: string, given: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${owner}: ${option} must be ${expected}, got ${describeGiven(given)}`);
}

/** A short, printable form of a value someone passed, for error messages (never the whole of a big value). */
export function describeGiven(value: unknown): string {
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return value.length <= 60 ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, 60))}… (${value.length} characters)`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}

/** A resource pool that a ResourceCounter was not created with. */
export class UnknownPoolError extends InvalidArgumentError {
  constructor(pool: string | null, known: readonly (string | null)[]) {
    super(
      `Unknown resource pool ${pool === null ? 'null' : `'${pool}'`}. This counter has: ` +
        `${known.map((p) => (p === null ? 'null (unallocated)' : p)).join(', ')}. ` +
        `Add it to the taskTypes given to the ResourceCounter.`,
    );
  }
}

/** A thinker class whose agents are declared or configured wrongly; the message says what to change. */
export class ThinkerDefinitionError extends InvalidArgumentError {}

/** One or more agents of a thinker threw; the first failure is the `cause`. */
export class AgentFailedError extends ColmenaError {
  /** The agent that failed first. */
  readonly agentName: string;
  /** Every agent that failed, in the order they failed. */
  readonly failures: readonly { agentName: string; error: unknown }[];
  constructor(failures: readonly { agentName: string; error: unknown }[]) {
    const first = failures[0]!;
    const reason = first.error instanceof Error ? first.error.message : String(first.error);
    const others = failures.slice(1).map((f) => f.agentName);
    super(
      'AGENT_FAILED',
      `Agent '${first.agentName}' failed: ${reason}` + (others.length > 0 ? ` (also failed: ${others.join(', ')})` : ''),
      { cause: first.error },
    );
    this.agentName = first.agentName;
    this.failures = failures;
  }
}

/** The abort reason of a task that ran past its `timeoutMs`. */
export class TaskTimeoutError extends ColmenaError {
  constructor(taskId: string, timeoutMs: number) {
    super('TASK_TIMEOUT', `Task ${taskId} ran past its timeout of ${timeoutMs} ms and was stopped`);
  }
}

/** The abort reason of a task cancelled by `queues.cancel()` or its `signal`. */
export class TaskCancelledError extends ColmenaError {
  constructor(taskId: string) {
    super('CANCELLED', `Task ${taskId} was cancelled`);
  }
}
