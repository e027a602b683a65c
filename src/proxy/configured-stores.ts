import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../common/errors.js';
import { siblingModule } from '../common/sibling.js';
import { FileStore } from './file-store.js';
import type { ObjectStore, StoreConfig } from './store.js';
import { processStores } from './store-registry.js';

/**
 * Open stores from their configs and add them to this process's registry: what a worker thread,
 * a child process or `colmena worker` does at start. Redis is imported only when a config needs it,
 * so a worker without a Redis store never loads ioredis.
 */
export async function openConfiguredStores(configs: readonly StoreConfig[]): Promise<ObjectStore[]> {
  const opened: ObjectStore[] = [];
  for (const config of configs) {
    if (processStores.has(config.id)) {
      opened.push(processStores.get(config.id));
      continue;
    }
    let store: ObjectStore;
    if (config.kind === 'file') {
      store = new FileStore({ dir: config.dir, id: config.id, maxObjectBytes: config.maxObjectBytes });
    } else if (config.kind === 'redis') {
      const { RedisStore } = await importRedisStore();
      store = new RedisStore({ url: config.url, prefix: config.prefix, id: config.id, maxObjectBytes: config.maxObjectBytes });
    } else {
      throw new InvalidArgumentError(`Unknown object store kind ${JSON.stringify((config as { kind?: unknown }).kind)}: expected 'file' or 'redis'`);
    }
    processStores.add(store);
    opened.push(store);
  }
  return opened;
}

/** The Redis store module, loaded on demand (so ioredis is never loaded by a process that needs no Redis store). */
async function importRedisStore(): Promise<typeof import('./redis-store.js')> {
  const url = siblingModule(import.meta.url, 'redis-store');
  try {
    return (await import(url.href)) as typeof import('./redis-store.js');
  } catch (error) {
    // Node 20 does not apply ESM loader hooks (tsx) inside worker threads, but its CommonJS hooks
    // do, and it can require ES modules: the TypeScript sources still load in development.
    if ((error as NodeJS.ErrnoException).code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      return createRequire(import.meta.url)(fileURLToPath(url)) as typeof import('./redis-store.js');
    }
    throw error;
  }
}
