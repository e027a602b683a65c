import { mkdirSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ObjectStore, StoreDescriptor, TransferStats } from './store.js';
import { registerStore, unregisterStore } from './store-registry.js';

/** Values as files in a directory: for clusters whose hosts share a file system. */
export class FileStore implements ObjectStore {
  readonly descriptor: StoreDescriptor;
  readonly label: string;
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    mkdirSync(this.dir, { recursive: true });
    this.descriptor = { kind: 'file', dir: this.dir };
    this.label = `file store ${this.dir}`;
    registerStore(this);
  }

  #path(key: string): string {
    if (!/^[\w.-]+$/.test(key)) throw new TypeError(`Object store keys may hold letters, digits, '.', '_' and '-' only, got '${key}'`);
    return join(this.dir, key);
  }

  async put(key: string, data: Uint8Array): Promise<TransferStats> {
    const started = performance.now();
    const path = this.#path(key);
    // Write then rename, so a reader never sees half a file.
    await writeFile(`${path}.partial`, data);
    await rename(`${path}.partial`, path);
    return { bytes: data.byteLength, seconds: (performance.now() - started) / 1000 };
  }

  async get(key: string): Promise<{ data: Uint8Array; stats: TransferStats } | null> {
    const started = performance.now();
    try {
      const data = await readFile(this.#path(key));
      return { data, stats: { bytes: data.byteLength, seconds: (performance.now() - started) / 1000 } };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    return stat(this.#path(key)).then(
      () => true,
      () => false,
    );
  }

  async evict(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async keys(): Promise<string[]> {
    return (await readdir(this.dir)).filter((name) => !name.endsWith('.partial'));
  }

  async close(): Promise<void> {
    unregisterStore(this);
  }
}
