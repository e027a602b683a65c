import { randomUUID } from 'node:crypto';
import type { ObjectStore, StoreDescriptor, TransferStats } from './store.js';
import { registerStore, unregisterStore } from './store-registry.js';

/**
 * Values kept in this process's memory. Reachable only from this process: the task server hands
 * the bytes to its worker threads itself (transferring, not copying, where it can).
 */
export class MemoryStore implements ObjectStore {
  readonly descriptor: StoreDescriptor;
  readonly label: string;
  readonly #objects = new Map<string, Uint8Array>();

  constructor(id: string = randomUUID()) {
    this.descriptor = { kind: 'memory', id };
    this.label = `memory store ${id}`;
    registerStore(this);
  }

  async put(key: string, data: Uint8Array): Promise<TransferStats> {
    const started = performance.now();
    this.#objects.set(key, data);
    return { bytes: data.byteLength, seconds: (performance.now() - started) / 1000 };
  }

  async get(key: string): Promise<{ data: Uint8Array; stats: TransferStats } | null> {
    const started = performance.now();
    const data = this.#objects.get(key);
    if (!data) return null;
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

  async close(): Promise<void> {
    this.#objects.clear();
    unregisterStore(this);
  }
}
