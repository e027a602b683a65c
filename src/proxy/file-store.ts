import { constants, mkdirSync } from 'node:fs';
import { lstat, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checkReadSize, DEFAULT_MAX_OBJECT_BYTES, type ObjectStore, type StoreConfig, sizeMismatch, type TransferStats } from './store.js';
import { KEY_PATTERN } from './reference.js';
import { processStores } from './store-registry.js';
import { InvalidArgumentError } from '../common/errors.js';

export interface FileStoreOptions {
  /** Directory holding one file per object (created if missing). */
  dir: string;
  /** What references name this store by. @default `file:` and the absolute directory */
  id?: string;
  /** Largest object read. @default 1 GiB */
  maxObjectBytes?: number;
}

/** Values as files in a directory: for clusters whose hosts share a file system. */
export class FileStore implements ObjectStore {
  readonly id: string;
  readonly label: string;
  readonly dir: string;
  readonly maxObjectBytes: number;

  constructor(options: FileStoreOptions | string) {
    const { dir, id, maxObjectBytes } = typeof options === 'string' ? { dir: options } : options;
    this.dir = resolve(dir);
    this.id = id ?? `file:${this.dir}`;
    this.maxObjectBytes = maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
    mkdirSync(this.dir, { recursive: true });
    this.label = `file store ${this.dir}`;
  }

  #path(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new InvalidArgumentError(`Object store keys may hold letters, digits, '.', '_' and '-' only, got '${key.slice(0, 60)}'`);
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

  async get(key: string, expectedBytes: number): Promise<{ data: Uint8Array; stats: TransferStats } | null> {
    const started = performance.now();
    const path = this.#path(key);
    checkReadSize(this, key, expectedBytes);
    // Only a regular file of exactly the declared size, never through a link: a reference cannot
    // lead a reader to a device (/dev/zero) or to a file outside the store.
    let handle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'ELOOP') throw new Error(`${this.label}: ${key} is a symbolic link, not an object: refusing to follow it`);
      throw error;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new Error(`${this.label}: ${key} is not a regular file: refusing to read it`);
      if (info.size !== expectedBytes) throw sizeMismatch(this, key, expectedBytes, info.size);
      const data = Buffer.allocUnsafeSlow(expectedBytes);
      let filled = 0;
      while (filled < expectedBytes) {
        const { bytesRead } = await handle.read(data, filled, expectedBytes - filled, filled);
        if (bytesRead === 0) throw sizeMismatch(this, key, expectedBytes, filled);
        filled += bytesRead;
      }
      return { data, stats: { bytes: data.byteLength, seconds: (performance.now() - started) / 1000 } };
    } finally {
      await handle.close();
    }
  }

  async exists(key: string): Promise<boolean> {
    return lstat(this.#path(key)).then(
      (info) => info.isFile(),
      () => false,
    );
  }

  async evict(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async keys(): Promise<string[]> {
    return (await readdir(this.dir)).filter((name) => !name.endsWith('.partial'));
  }

  config(): StoreConfig {
    return { kind: 'file', id: this.id, dir: this.dir, maxObjectBytes: this.maxObjectBytes };
  }

  /** For `await using`: the same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {
    processStores.remove(this);
  }
}

