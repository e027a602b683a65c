import assert from 'node:assert/strict';
import type { ObjectStore } from '../../src/proxy/store.js';

/** Eviction runs in the background once a task retires: wait for the store to drain. */
export async function untilEmpty(store: ObjectStore): Promise<void> {
  const deadline = Date.now() + 10_000;
  let keys = await store.keys();
  while (keys.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    keys = await store.keys();
  }
  assert.deepEqual(keys, [], `${store.label} still holds objects`);
}
