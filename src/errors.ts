/**
 * One error hierarchy for the whole library. Every error has a stable `code` so callers can
 * branch on it without matching message text. Task failures are *not* thrown: they travel as data
 * on the {@link Result}; these errors are for misuse of the API and for transport problems.
 */
export type ColmenaErrorCode =
  | 'UNKNOWN_TOPIC'
  | 'UNKNOWN_METHOD'
  | 'SERIALIZATION'
  | 'INVALID_MESSAGE'
  | 'MESSAGE_TOO_LARGE'
  | 'TIMEOUT'
  | 'INVALID_STATE'
  | 'INVALID_ARGUMENT'
  | 'CONNECTION';

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
    super('TIMEOUT', `Timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

/** An operation that the object's current lifecycle state does not allow. */
export class InvalidStateError extends ColmenaError {
  constructor(message: string) {
    super('INVALID_STATE', message);
  }
}

/** An argument outside what an API accepts. */
export class InvalidArgumentError extends ColmenaError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}
