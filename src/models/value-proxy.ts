/** Enough to reconnect to an object store from any worker: it travels inside every reference. */
export type StoreDescriptor =
  | { kind: 'memory'; id: string }
  | { kind: 'file'; dir: string }
  | { kind: 'redis'; url: string; prefix: string };

/** Where a worker puts a value that is too large for the result message, and from what size. */
export interface ValueProxySettings {
  store: StoreDescriptor;
  thresholdBytes: number;
}
