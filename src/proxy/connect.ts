import { FileStore } from './file-store.js';
import { RedisStore } from './redis-store.js';
import { describeStore, type ObjectStore, type StoreDescriptor } from './store.js';
import { findStore, openStores } from './store-registry.js';

/**
 * The store a reference points to: the one this process already has open, or a new connection
 * (kept open for later references). A memory store is only reachable from the process that made it.
 */
export function connectStore(descriptor: StoreDescriptor): ObjectStore {
  const store = findStore(descriptor);
  if (store) return store;
  switch (descriptor.kind) {
    case 'memory':
      throw new Error(`Cannot reach ${describeStore(descriptor)}: memory stores live in one process only`);
    case 'file':
      return new FileStore(descriptor.dir);
    case 'redis':
      return new RedisStore({ url: descriptor.url, prefix: descriptor.prefix });
  }
}

/** Close every store open in this process (e.g. before a worker exits). */
export async function closeAllStores(): Promise<void> {
  await Promise.all(openStores().map((store) => store.close()));
}
