import { InvalidArgumentError } from '../common/errors.js';
import { STORE_ID_PATTERN } from '../models/value-proxy.js';
import { ProxyResolutionError } from './reference.js';
import type { ObjectStore, StoreConfig } from './store.js';

/** Where a reader of this message should look to add a store; the same text everywhere. */
export const WHERE_STORES_ARE_CONFIGURED =
  "Stores are configured, never named by messages: on the thinker's queues (proxy.store, proxy.topics), " +
  'on the task server (LocalTaskServer option stores), or on colmena worker (--store, env COLMENA_STORES)';

/**
 * Stores by id. A reference is resolved only against a registry: the queues keep one of the
 * stores they were given, and each process keeps one ({@link processStores}) of every store it
 * was configured with, which its task server, workers and worker threads resolve against.
 */
export class StoreRegistry {
  readonly #stores = new Map<string, ObjectStore>();
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  /** Add a store; another store under the same id is refused unless it is configured the same way. */
  add(store: ObjectStore): void {
    if (typeof store?.id !== 'string' || !STORE_ID_PATTERN.test(store.id)) {
      throw new InvalidArgumentError(`An object store id must match ${STORE_ID_PATTERN}, got ${JSON.stringify(store?.id)}`);
    }
    const known = this.#stores.get(store.id);
    if (known === undefined) {
      this.#stores.set(store.id, store);
      return;
    }
    if (known === store) return;
    const a = known.config();
    const b = store.config();
    // Two connections to the same place (e.g. a thinker's and a server's) are the same store.
    if (a !== null && b !== null && JSON.stringify(a) === JSON.stringify(b)) return;
    throw new InvalidArgumentError(
      `Two different object stores have the id '${store.id}' (${known.label} and ${store.label}). Give one of them another id option.`,
    );
  }

  remove(store: ObjectStore): void {
    if (this.#stores.get(store.id) === store) this.#stores.delete(store.id);
  }

  has(id: string): boolean {
    return this.#stores.has(id);
  }

  /** The store under `id`; an unknown id is refused naming it and where stores are configured. */
  get(id: string, what = 'a reference'): ObjectStore {
    const store = typeof id === 'string' ? this.#stores.get(id) : undefined;
    if (store) return store;
    const known = [...this.#stores.keys()];
    const shown = typeof id === 'string' ? `'${id.slice(0, 200)}'` : `(not a store id: ${typeof id})`;
    throw new ProxyResolutionError(
      `Unknown object store ${shown} named by ${what}; stores known to ${this.#name}: ${known.length > 0 ? known.map((k) => `'${k}'`).join(', ') : '(none)'}. ` +
        `${WHERE_STORES_ARE_CONFIGURED}.`,
    );
  }

  stores(): ObjectStore[] {
    return [...this.#stores.values()];
  }

  /** Configs of every store that another thread or process can open (memory stores have none). */
  configs(): StoreConfig[] {
    return this.stores().flatMap((store) => store.config() ?? []);
  }
}

/** The stores this process was configured with. */
export const processStores = new StoreRegistry('this process');

/** Add stores to {@link processStores} (what queues, task servers and workers do with the stores they are given). */
export function configureStores(stores: Iterable<ObjectStore>): void {
  for (const store of stores) processStores.add(store);
}

/** Close every store in this process's registry (e.g. before a worker exits). */
export async function closeConfiguredStores(): Promise<void> {
  await Promise.all(processStores.stores().map((store) => store.close()));
}
