/**
 * An object store holds large values so that they travel by reference instead of riding the
 * control channel. Every operation reports the bytes it moved and the seconds it took.
 */

import type { StoreDescriptor } from '../models/value-proxy.js';

export type { StoreDescriptor } from '../models/value-proxy.js';

export interface TransferStats {
  bytes: number;
  seconds: number;
}

export interface ObjectStore {
  readonly descriptor: StoreDescriptor;
  /** A name for messages: the kind and where it is. */
  readonly label: string;
  put(key: string, data: Uint8Array): Promise<TransferStats>;
  /** The bytes under `key`, or `null` when there are none. */
  get(key: string): Promise<{ data: Uint8Array; stats: TransferStats } | null>;
  exists(key: string): Promise<boolean>;
  evict(key: string): Promise<void>;
  /** Keys currently held (for tests and housekeeping). */
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

export function describeStore(descriptor: StoreDescriptor): string {
  switch (descriptor.kind) {
    case 'memory':
      return `memory store ${descriptor.id}`;
    case 'file':
      return `file store ${descriptor.dir}`;
    case 'redis':
      return `Redis store ${descriptor.url.replace(/\/\/[^@]*@/, '//***@')} (prefix ${descriptor.prefix})`;
  }
}
