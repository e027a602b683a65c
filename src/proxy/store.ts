/**
 * An object store holds large values so that they travel by reference instead of riding the
 * control channel. Every operation reports the bytes it moved and the seconds it took.
 */

export interface TransferStats {
  bytes: number;
  seconds: number;
}

/**
 * How to open a store in another thread or process of the same campaign (handed to worker
 * threads and child processes at pool start, never put in a message). Memory stores have none.
 */
export type StoreConfig =
  | { kind: 'file'; id: string; dir: string; maxObjectBytes?: number }
  | { kind: 'redis'; id: string; url: string; prefix: string; maxObjectBytes?: number };

/** Largest object a store reads unless told otherwise: a reference cannot make a reader allocate more. */
export const DEFAULT_MAX_OBJECT_BYTES = 1024 * 1024 * 1024;

export interface ObjectStore {
  /** What references name this store by; each process maps ids to the stores it was configured with. */
  readonly id: string;
  /** A name for messages: the kind and where it is (credentials redacted). */
  readonly label: string;
  /** The largest object {@link get} reads. */
  readonly maxObjectBytes: number;
  put(key: string, data: Uint8Array): Promise<TransferStats>;
  /**
   * The bytes under `key`, or `null` when there are none. Reads at most `expectedBytes` (which
   * must not exceed {@link maxObjectBytes}) and rejects an object of any other size.
   */
  get(key: string, expectedBytes: number): Promise<{ data: Uint8Array; stats: TransferStats } | null>;
  exists(key: string): Promise<boolean>;
  evict(key: string): Promise<void>;
  /** Keys currently held (for tests and housekeeping). */
  keys(): Promise<string[]>;
  /** How to open this store elsewhere, or `null` when it lives in this process's memory only. */
  config(): StoreConfig | null;
  close(): Promise<void>;
}

/** Stop a read of `key` before it starts when its reference declares more than the store reads. @throws RangeError */
export function checkReadSize(store: ObjectStore, key: string, expectedBytes: number): void {
  if (expectedBytes > store.maxObjectBytes) {
    throw new RangeError(
      `the reference to ${key} declares ${expectedBytes} bytes, over the ${store.maxObjectBytes}-byte limit of ${store.label} (its maxObjectBytes option)`,
    );
  }
}

export function sizeMismatch(store: ObjectStore, key: string, expected: number, actual: number): Error {
  return new RangeError(`${store.label} holds ${actual} bytes under ${key}, but its reference declares ${expected}: refusing to read it`);
}
