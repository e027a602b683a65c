/** The same contract for every object store connector. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileStore } from '../../src/proxy/file-store.js';
import { MemoryStore } from '../../src/proxy/memory-store.js';
import { RedisStore } from '../../src/proxy/redis-store.js';
import type { ObjectStore } from '../../src/proxy/store.js';
import { redisFixture } from '../helpers/redis.js';

const redis = redisFixture();
let dir: string;

const connectors: [string, () => ObjectStore][] = [
  ['memory', () => new MemoryStore()],
  ['file', () => new FileStore(join(dir, `store-${Math.random()}`))],
  ['redis', () => new RedisStore({ url: redis.url, prefix: redis.prefix() })],
  // Client options take the ioredis read path instead of the bulk reader's.
  ['redis (ioredis reads)', () => new RedisStore({ url: redis.url, prefix: redis.prefix(), redisOptions: { connectTimeout: 5000 } })],
];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'colmena-stores-'));
  await redis.start();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await redis.stop();
});

for (const [name, connect] of connectors) {
  describe(`${name} store`, () => {
    it('puts, gets, lists and evicts, reporting bytes and time', async () => {
      const store = connect();
      try {
        const data = new Uint8Array(100_000).map((_, i) => i % 251);
        const put = await store.put('key-1', data);
        assert.equal(put.bytes, 100_000);
        assert.ok(put.seconds >= 0);
        assert.equal(await store.exists('key-1'), true);
        const got = await store.get('key-1', 100_000);
        assert.ok(got);
        assert.deepEqual(new Uint8Array(got.data), data);
        assert.equal(got.stats.bytes, 100_000);
        assert.deepEqual(await store.keys(), ['key-1']);
        await store.evict('key-1');
        assert.equal(await store.exists('key-1'), false);
        assert.equal(await store.get('key-1', 100_000), null);
        assert.deepEqual(await store.keys(), []);
        await store.evict('never-there');
      } finally {
        await store.close();
      }
    });

    it('reads only what a reference declares: another size or one over maxObjectBytes is refused', async () => {
      const store = connect();
      try {
        await store.put('sized', new Uint8Array(1000));
        await assert.rejects(store.get('sized', 999), /holds 1000 bytes under sized, but its reference declares 999/);
        await assert.rejects(store.get('sized', 1001), /holds 1000 bytes under sized, but its reference declares 1001|declares 1001/);
        await assert.rejects(store.get('sized', store.maxObjectBytes + 1), /over the \d+-byte limit .* maxObjectBytes/);
        // Still usable after a refusal (the bulk reader drops its connection to refuse).
        assert.equal((await store.get('sized', 1000))!.data.byteLength, 1000);
        assert.equal(store.id.includes('@'), false, 'no credentials in the id');
      } finally {
        await store.close();
      }
    });
  });
}
