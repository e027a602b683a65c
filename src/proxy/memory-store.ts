import { randomUUID } from 'node:crypto';
import { checkReadSize, DEFAULT_MAX_OBJECT_BYTES, type ObjectStore, type StoreConfig, sizeMismatch, type TransferStats } from './store.js';
import { processStores } from './store-registry.js';

export interface MemoryStoreOptions {
  /** What references name this store by. @default `memory:` and a random UUID */
  id?: string;
}

/**
 * Values kept in this process's memory. Reachable only from this process: the task server hands
 * the bytes to its worker threads itself (transferring, not copying, where it can).
 */
export class MemoryStore implements ObjectStore {
  readonly id: string;
  readonly label: string;
  readonly maxObjectBytes = DEFAULT_MAX_OBJECT_BYTES;
  readonly #objects = new Map<string, Uint8Array>();

  constructor(options: MemoryStoreOptions | string = {}) {
    // A bare string was the id in earlier versions.
    const id = typeof options === 'string' ? options : options.id;
    this.id = id ?? `memory:${randomUUID()}`;
    this.label = `memory store ${this.id}`;
  }

  async put(key: string, data: Uint8Array): Promise<TransferStats> {
    const started = performance.now();
    this.#objects.set(key, data);
    return { bytes: data.byteLength, seconds: (performance.now() - started) / 1000 };
  }

  async get(key: string, expectedBytes: number): Promise<{ data: Uint8Array; stats: TransferStats } | null> {
    const started = performance.now();
    checkReadSize(this, key, expectedBytes);
    const data = this.#objects.get(key);
    if (!data) return null;
    if (data.byteLength !== expectedBytes) throw sizeMismatch(this, key, expectedBytes, data.byteLength);
    return { data, stats: { bytes: data.byteLength, seconds: (performance.now() - started) / 1000 } };
  }

  async exists(key: string): Promise<boolean> {
    return this.#objects.has(key);
  }

  async evict(key: string): Promise<void> {
    this.#objects.delete(key);
  }

  async keys(): Promise<string[]> {
    return [...this.#objects.keys()];
  }

  config(): StoreConfig | null {
    return null;
  }

  /** For `await using`: the same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {
    this.#objects.clear();
    processStores.remove(this);
  }
}
