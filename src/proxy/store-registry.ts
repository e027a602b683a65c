import type { ObjectStore, StoreDescriptor } from './store.js';

/**
 * The stores open in this process, by descriptor: a reference to a store the application already
 * opened resolves through that same connection rather than a second one nobody would close.
 */
const open = new Map<string, ObjectStore>();

function keyOf(descriptor: StoreDescriptor): string {
  return JSON.stringify(descriptor);
}

export function registerStore(store: ObjectStore): void {
  if (!open.has(keyOf(store.descriptor))) open.set(keyOf(store.descriptor), store);
}

export function unregisterStore(store: ObjectStore): void {
  const key = keyOf(store.descriptor);
  if (open.get(key) === store) open.delete(key);
}

export function findStore(descriptor: StoreDescriptor): ObjectStore | undefined {
  return open.get(keyOf(descriptor));
}

export function openStores(): ObjectStore[] {
  return [...open.values()];
}
