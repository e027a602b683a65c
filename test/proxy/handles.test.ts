/** Proxies you can pass on: one upload for many tasks, eviction after the last, a store per topic. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inlineMethod, moduleMethod } from '../../src/methods/spec.js';
import { ProxyHandle } from '../../src/models/value-proxy.js';
import { FileStore } from '../../src/proxy/file-store.js';
import { MemoryStore } from '../../src/proxy/memory-store.js';
import type { ObjectStore, TransferStats } from '../../src/proxy/store.js';
import { LocalQueues } from '../../src/queue/local.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { redisFixture } from '../helpers/redis.js';
import { until } from '../helpers/until.js';

const FIXTURES = new URL('../fixtures/methods.ts', import.meta.url);

/** A file store that counts what is put and evicted. */
class CountingStore extends FileStore {
  puts = 0;
  evictions = 0;
  override async put(key: string, data: Uint8Array): Promise<TransferStats> {
    this.puts++;
    return super.put(key, data);
  }
  override async evict(key: string): Promise<void> {
    await super.evict(key);
    this.evictions++;
  }
}

const redis = redisFixture();
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'colmena-handles-'));
  await redis.start();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await redis.stop();
});

describe('ProxyHandle', () => {
  for (const executor of ['threads', 'processes'] as const) {
    it(`sends a 1 MiB value to 100 tasks on ${executor} with one upload, evicted once after the last`, async () => {
      const store = new CountingStore({ dir: join(dir, `counting-${executor}`) });
      const prefix = redis.prefix();
      const client = new RedisQueues({ url: redis.url, prefix, role: 'client', serializationMethod: 'msgpack', proxy: { store, thresholdBytes: 10_000_000 } });
      const serverSide = new RedisQueues({ url: redis.url, prefix, role: 'server', serializationMethod: 'msgpack' });
      const server = new LocalTaskServer(serverSide, {
        methods: { byteLength: moduleMethod(FIXTURES, 'byteLength', { executor }) },
        threads: 2,
        processes: 2,
      }).start();
      try {
        const big = new Uint8Array(1024 * 1024).fill(7);
        const handle = await client.proxy(big);
        assert.ok(handle instanceof ProxyHandle);
        assert.equal(store.puts, 1);
        for (let i = 0; i < 100; i++) await client.sendInputs('byteLength', [handle]);
        await client.evict(handle); // deferred: 100 tasks use it
        assert.equal(store.evictions, 0);
        for (let i = 0; i < 100; i++) {
          const result = await client.getResult('default', { timeoutMs: 30_000 });
          assert.equal(result.value, 1024 * 1024, result.failureInfo?.message);
          const sizes = result.messageSizes as Record<string, number>;
          assert.ok(sizes.inputs! > 1024 * 1024, 'inputs counts the object bytes');
          assert.ok(sizes.inputsReferences! < 300, 'the message carried the reference');
        }
        await until(() => store.evictions === 1, 'the handle evicted after the last task');
        assert.equal(store.puts, 1, 'uploaded once');
        assert.deepEqual(await store.keys(), []);
        await assert.rejects(client.sendInputs('byteLength', [handle]), /was evicted/);
      } finally {
        await client.sendKillSignal();
        await server.join();
        await client.close();
        await serverSide.close();
        await store.close();
      }
    });
  }

  it('passes on a value received by reference without fetching it, and a store per topic', async () => {
    const main = new MemoryStore();
    const side = new FileStore({ dir: join(dir, 'side') });
    const queues = new LocalQueues({
      topics: ['side'],
      proxy: { store: main, thresholdBytes: 100, resolveOnReceipt: false, topics: { side: { store: side } } },
    });
    const server = new LocalTaskServer(queues, {
      methods: { make: inlineMethod((n: number) => 'v'.repeat(n)), length: moduleMethod(FIXTURES, 'echo') },
      threads: 1,
    }).start();
    try {
      await queues.sendInputs('make', [500], { topic: 'side' });
      const made = await queues.getResult('side');
      const handle = queues.handleOf(made);
      assert.ok(handle);
      assert.equal(handle.storeId, side.id, "the value went to the topic's own store");
      assert.equal((await side.keys()).length, 1);
      await queues.sendInputs('length', [handle]);
      const echoed = await queues.getResult();
      await queues.resolveValue(echoed);
      assert.equal(echoed.value, 'v'.repeat(500), 'the worker got the value, not the reference text');
      assert.equal((await side.keys()).length, 1, 'kept: it is a handle now');
      await queues.evict(handle);
      assert.deepEqual(await side.keys(), []);
      // Handles made with one codec cannot be sent by queues using the other.
      const other = new LocalQueues({ serializationMethod: 'msgpack', proxy: { store: new MemoryStore(), thresholdBytes: 100 } });
      await assert.rejects(other.sendInputs('length', [await queues.proxy('x')]), /JSON-encoded value, but these queues use 'msgpack'/);
      await other.close();
    } finally {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
      await side.close();
    }
  });

  it('refuses proxy() without a store, and a ProxyHandle nested inside a value', async () => {
    const bare = new LocalQueues();
    await assert.rejects(bare.proxy(1), /needs an object store/);
    await bare.close();
    const store: ObjectStore = new MemoryStore();
    const queues = new LocalQueues({ proxy: { store, thresholdBytes: 100 } });
    const handle = await queues.proxy([1, 2]);
    await assert.rejects(queues.sendInputs('any', [{ inner: handle }]), /args\[0\]\.inner.*ProxyHandle can only be a whole argument/);
    await queues.close();
  });
});
