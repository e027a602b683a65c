/** Enough to reconnect to an object store from any worker: it travels inside every reference. */
export type StoreDescriptor =
  | { kind: 'memory'; id: string }
  | { kind: 'file'; dir: string }
  | { kind: 'redis'; url: string; prefix: string };

/** Where a worker puts a value that is too large for the result message, and from what size. */
export interface ValueProxySettings {
  store: StoreDescriptor;
  thresholdBytes: number;
}

// No JSON text starts with a NUL character, so a reference can never be mistaken for a value.
export const REFERENCE_PREFIX = '\u0000colmena-proxy:';

/** Whether an encoded argument or value is a reference into an object store (it then stays text on the wire). */
export function isReference(encoded: unknown): boolean {
  return typeof encoded === 'string' && encoded.startsWith(REFERENCE_PREFIX);
}
