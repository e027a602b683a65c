import { isReference, REFERENCE_PREFIX as PREFIX } from '../models/value-proxy.js';
import type { StoreDescriptor } from './store.js';

export { isReference };

/** Where a value passed by reference lives. */
export interface ProxyReference {
  store: StoreDescriptor;
  key: string;
  /** Size of the stored bytes. */
  bytes: number;
  /** The value was binary (msgpack) rather than text (JSON). */
  binary: boolean;
}


export function encodeReference(reference: ProxyReference): string {
  return PREFIX + JSON.stringify(reference);
}

export function decodeReference(encoded: string): ProxyReference {
  return JSON.parse(encoded.slice(PREFIX.length)) as ProxyReference;
}
