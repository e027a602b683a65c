import type { StoreDescriptor } from './store.js';

/** Where a value passed by reference lives. */
export interface ProxyReference {
  store: StoreDescriptor;
  key: string;
  /** Size of the stored bytes. */
  bytes: number;
  /** The value was binary (msgpack) rather than text (JSON). */
  binary: boolean;
}

// No JSON text starts with a NUL character, so a reference can never be mistaken for a value.
const PREFIX = '\u0000colmena-proxy:';

export function isReference(encoded: unknown): boolean {
  return typeof encoded === 'string' && encoded.startsWith(PREFIX);
}

export function encodeReference(reference: ProxyReference): string {
  return PREFIX + JSON.stringify(reference);
}

export function decodeReference(encoded: string): ProxyReference {
  return JSON.parse(encoded.slice(PREFIX.length)) as ProxyReference;
}
