/**
 * The reference format of pass-by-reference. A reference names an object store by *id* only: each
 * process maps ids to the stores it was configured with, so a message can never make a process
 * open a file, a directory or a connection of its choosing, and no credential travels in it.
 */

/** Where a worker puts a value that is too large for the result message, and from what size. */
export interface ValueProxySettings {
  /** Id of the store, resolved against the stores the worker's process was configured with. */
  storeId: string;
  thresholdBytes: number;
}

// No JSON text starts with a NUL character, so a reference can never be mistaken for a value.
export const REFERENCE_PREFIX = '\u0000colmena-proxy:';

/** Store ids: short, printable, no spaces (they appear in messages and in error texts). */
export const STORE_ID_PATTERN = /^[\w.:@/+-]{1,200}$/;

/** Whether an encoded argument or value is a reference into an object store (it then stays text on the wire). */
export function isReference(encoded: unknown): boolean {
  return typeof encoded === 'string' && encoded.startsWith(REFERENCE_PREFIX);
}

/**
 * A value already in an object store, to send as an argument of any number of tasks without
 * another upload (from `queues.proxy(value)` or `queues.handleOf(result)`). Only a whole argument
 * or keyword argument can be a handle; the task's worker fetches the value itself.
 */
export class ProxyHandle {
  /** The reference text that takes the argument's place in the request. */
  readonly reference: string;
  readonly storeId: string;
  readonly key: string;
  /** Size of the stored object. */
  readonly bytes: number;
  /** Encoded with msgpack (bytes) rather than JSON (text). */
  readonly binary: boolean;

  constructor(reference: string, fields: { storeId: string; key: string; bytes: number; binary: boolean }) {
    this.reference = reference;
    this.storeId = fields.storeId;
    this.key = fields.key;
    this.bytes = fields.bytes;
    this.binary = fields.binary;
  }

  toString(): string {
    return `ProxyHandle(${this.storeId}, ${this.key}, ${this.bytes} bytes)`;
  }
}
