import { ColmenaError } from '../common/errors.js';
import { isReference, REFERENCE_PREFIX as PREFIX, STORE_ID_PATTERN } from '../models/value-proxy.js';

export { isReference };

/** Where a value passed by reference lives: a store id (never a location), a key and a size. */
export interface ProxyReference {
  /** Id of a store the reading process was configured with. */
  store: string;
  key: string;
  /** Size of the stored bytes: a read never takes more. */
  bytes: number;
  /** The value was binary (msgpack) rather than text (JSON). */
  binary: boolean;
}

/** A reference that cannot be followed: malformed, an unknown store, an oversize or missing object. */
export class ProxyResolutionError extends ColmenaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PROXY', message, options);
  }
}

/** Object keys: what every store can hold as a file name or a Redis key suffix. */
export const KEY_PATTERN = /^[\w.-]{1,200}$/;
/** A well-formed reference is about 150 characters; anything much longer is not one. */
const MAX_REFERENCE_CHARS = 1024;

export function encodeReference(reference: ProxyReference): string {
  return PREFIX + JSON.stringify({ store: reference.store, key: reference.key, bytes: reference.bytes, binary: reference.binary });
}

/**
 * Parse a reference strictly: exactly the four fields, each of its type and shape. Anything else
 * (an old reference carrying a store descriptor, a forged one) is refused with what was wrong.
 */
export function decodeReference(encoded: string, what = 'a value passed by reference'): ProxyReference {
  const refuse = (problem: string): ProxyResolutionError =>
    new ProxyResolutionError(`Cannot follow the reference in ${what}: ${problem}. References are made by colmena's queues and workers only.`);
  if (encoded.length > MAX_REFERENCE_CHARS) throw refuse(`it is ${encoded.length} characters long (at most ${MAX_REFERENCE_CHARS})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(encoded.slice(PREFIX.length));
  } catch {
    throw refuse('it is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw refuse('it is not an object');
  const fields = parsed as Record<string, unknown>;
  const extra = Object.keys(fields).filter((k) => !['store', 'key', 'bytes', 'binary'].includes(k));
  if (extra.length > 0) throw refuse(`unexpected field(s) ${extra.join(', ')}`);
  const { store, key, bytes, binary } = fields;
  if (typeof store !== 'string' || !STORE_ID_PATTERN.test(store)) {
    throw refuse(`'store' must be a store id (${STORE_ID_PATTERN}), got ${describe(store)}`);
  }
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) throw refuse(`'key' must match ${KEY_PATTERN}, got ${describe(key)}`);
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
    throw refuse(`'bytes' must be a non-negative integer, got ${describe(bytes)}`);
  }
  if (typeof binary !== 'boolean') throw refuse(`'binary' must be true or false, got ${describe(binary)}`);
  return { store, key, bytes, binary };
}

function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
