import { FileStore } from './file-store.js';
import { findMemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import { describeStore, type ObjectStore, type StoreDescriptor } from './store.js';

const connected = new Map<string, ObjectStore>();

/**
 * The store a reference points to, connected once per process. A memory store is only reachable
 * from the process that made it.
 */
export function connectStore(descriptor: StoreDescriptor): ObjectStore {
  const key = JSON.stringify(descriptor);
  let store = connected.get(key);
  if (store) return store;
  switch (descriptor.kind) {
    case 'memory': {
      const found = findMemoryStore(descriptor.id);
      if (!found) throw new Error(`Cannot reach ${describeStore(descriptor)}: memory stores live in one process only`);
      return found;
    }
    case 'file':
      store = new FileStore(descriptor.dir);
      break;
    case 'redis':
      store = new RedisStore({ url: descriptor.url, prefix: descriptor.prefix });
      break;
  }
  connected.set(key, store);
  return store;
}

/** Close every store this process connected to through references. */
export async function closeConnectedStores(): Promise<void> {
  const stores = [...connected.values()];
  connected.clear();
  await Promise.all(stores.map((store) => store.close()));
}
