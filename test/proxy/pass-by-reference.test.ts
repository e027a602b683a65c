/** Large inputs and values travel by reference through each store, on each executor and transport. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inlineMethod, type MethodsOf, moduleMethod } from '../../src/methods/spec.js';
import { FileStore } from '../../src/proxy/file-store.js';
import { MemoryStore } from '../../src/proxy/memory-store.js';
import { isReference } from '../../src/proxy/reference.js';
import { RedisStore } from '../../src/proxy/redis-store.js';
import type { ObjectStore } from '../../src/proxy/store.js';
import type { ColmenaQueues, QueuesOptions } from '../../src/queue/base.js';
import { LocalQueues } from '../../src/queue/local.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import type * as fixtures from '../fixtures/methods.js';
import { redisFixture } from '../helpers/redis.js';
import { untilEmpty } from '../helpers/stores.js';


const FIXTURES = new URL('../fixtures/methods.ts', import.meta.url);
const methods = {
  echo: moduleMethod<typeof fixtures.echo>(FIXTURES, 'echo'),
  byteLength: moduleMethod<typeof fixtures.byteLength>(FIXTURES, 'byteLength'),
  echoInline: inlineMethod(<T>(value: T): T => value),
};
type M = MethodsOf<typeof methods>;

const redis = redisFixture();
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'colmena-proxy-'));
  await redis.start();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await redis.stop();
});

const stores: [string, () => ObjectStore][] = [
  ['memory', () => new MemoryStore()],
  ['file', () => new FileStore(join(dir, `store-${Math.random()}`))],
  ['redis', () => new RedisStore({ url: redis.url, prefix: redis.prefix() })],
];

interface Campaign {
  queues: ColmenaQueues<M>;
  store: ObjectStore;
  stop(): Promise<void>;
}

function campaign(store: ObjectStore, options: Omit<QueuesOptions, 'proxy'> & { thresholdBytes?: number; topics?: Record<string, number | null>; resolveOnReceipt?: boolean; transport?: 'local' | 'redis' } = {}): Campaign {
  const { thresholdBytes = 10_000, topics, resolveOnReceipt, transport = 'local', ...queueOptions } = options;
  const proxy = { store, thresholdBytes, topics, resolveOnReceipt };
  let client: ColmenaQueues<M>;
  let serverSide: ColmenaQueues;
  if (transport === 'local') {
    client = serverSide = new LocalQueues<M>({ ...queueOptions, proxy });
  } else {
    const prefix = redis.prefix();
    client = new RedisQueues<M>({ ...queueOptions, proxy, url: redis.url, prefix, role: 'client' });
    serverSide = new RedisQueues({ ...queueOptions, url: redis.url, prefix, role: 'server' });
  }
  const server = new LocalTaskServer(serverSide, { methods, threads: 2 }).start();
  return {
    queues: client,
    store,
    async stop() {
      await client.sendKillSignal();
      await server.join();
      await client.close();
      if (transport === 'redis') await serverSide.close();
      await store.close();
    },
  };
}

for (const [name, connect] of stores) {
  describe(`pass by reference through the ${name} store`, () => {
    it('sends values just under the threshold inline and values at it by reference', async () => {
      const c = campaign(connect(), { thresholdBytes: 1000 });
      try {
        // JSON-encoded, a string of n characters takes n + 2 bytes.
        await c.queues.sendInputs('echo', ['x'.repeat(997)]);
        const under = await c.queues.getResult();
        assert.equal(under.value, 'x'.repeat(997));
        assert.deepEqual(under.time.proxy, {});

        await c.queues.sendInputs('echo', ['y'.repeat(998)]);
        const at = await c.queues.getResult();
        assert.equal(at.value, 'y'.repeat(998));
        const timings = Object.values(at.time.proxy) as { bytes: number; put?: number; get?: number }[];
        assert.equal(timings.length, 2, 'one reference for the input, one for the value');
        for (const timing of timings) {
          assert.equal(timing.bytes, 1000);
          assert.ok(timing.put! >= 0 && timing.get! >= 0);
        }
        assert.ok(at.time.asyncResolveProxies >= 0);
        const sizes = at.messageSizes as Record<string, number>;
        assert.equal(sizes.inputs, 1000, 'inputs counts the object bytes');
        assert.ok(sizes.inputsReferences! < 1000, 'the request carried a reference, not the value');
        assert.equal(sizes.value, 1000, 'value counts the object bytes');
        assert.ok(sizes.valueReference! < 1000, 'the result carried a reference');
        await untilEmpty(c.store);
      } finally {
        await c.stop();
      }
    });

    it('keeps typed arrays and Buffers intact (msgpack), inline and on threads', async () => {
      const c = campaign(connect(), { serializationMethod: 'msgpack', thresholdBytes: 1000 });
      try {
        const floats = Float64Array.from({ length: 10_000 }, (_, i) => i / 7);
        const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 256));
        await c.queues.sendInputs('echo', [floats]);
        await c.queues.sendInputs('echoInline', [bytes]);
        const results = [await c.queues.getResult(), await c.queues.getResult()];
        const echoed = results.find((r) => r.method === 'echo')!;
        const inline = results.find((r) => r.method === 'echoInline')!;
        assert.ok(echoed.value instanceof Float64Array);
        assert.deepEqual(echoed.value, floats);
        assert.ok(Buffer.isBuffer(inline.value) || inline.value instanceof Uint8Array);
        assert.deepEqual(Buffer.from(inline.value as Uint8Array), bytes);
      } finally {
        await c.stop();
      }
    });

    it('runs a campaign of 1,000 tasks with 1 MB inputs and leaves the store empty', async () => {
      const c = campaign(connect(), { serializationMethod: 'msgpack', thresholdBytes: 100_000 });
      try {
        const input = new Float64Array(131_072); // 1 MiB
        const total = 1000;
        let sent = 0;
        for (; sent < 16; sent++) await c.queues.sendInputs('byteLength', [input]);
        for (let done = 0; done < total; done++) {
          const result = await c.queues.getResult('default', { timeoutMs: 60_000 });
          assert.equal(result.value, 1_048_576, result.failureInfo?.message);
          if (sent < total) {
            await c.queues.sendInputs('byteLength', [input]);
            sent++;
          }
        }
        await untilEmpty(c.store);
      } finally {
        await c.stop();
      }
    });
  });
}

describe('pass-by-reference settings and failures', () => {
  it('uses per-topic thresholds, with null turning it off', async () => {
    const queues = new LocalQueues<M>({ topics: ['small', 'never'], proxy: { store: new MemoryStore(), thresholdBytes: 1_000_000, topics: { small: 100, never: null } } });
    const server = new LocalTaskServer(queues, { methods }).start();
    try {
      const text = 'z'.repeat(5000);
      await queues.sendInputs('echoInline', [text]);
      await queues.sendInputs('echoInline', [text], { topic: 'small' });
      await queues.sendInputs('echoInline', [text], { topic: 'never' });
      assert.deepEqual(Object.keys((await queues.getResult('default')).time.proxy), []);
      assert.equal(Object.keys((await queues.getResult('small')).time.proxy).length, 2);
      assert.deepEqual(Object.keys((await queues.getResult('never')).time.proxy), []);
      assert.equal(queues.proxyThreshold('small'), 100);
      assert.equal(queues.proxyThreshold('never'), null);
    } finally {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    }
  });

  it('keeps the reference until asked to resolve it', async () => {
    const store = new MemoryStore();
    const c = campaign(store, { thresholdBytes: 100, resolveOnReceipt: false });
    try {
      await c.queues.sendInputs('echoInline', ['w'.repeat(500)]);
      const result = await c.queues.getResult();
      assert.equal(result.value, undefined);
      assert.ok(isReference(result.encodedValue));
      assert.equal((await store.keys()).length, 1);
      await c.queues.resolveValue(result);
      assert.equal(result.value, 'w'.repeat(500));
      await untilEmpty(store);
    } finally {
      await c.stop();
    }
  });

  it('fails the task, naming the store and key, when a referenced object is gone', async () => {
    const store = new FileStore(join(dir, 'vanishing'));
    const queues = new LocalQueues<M>({ proxy: { store, thresholdBytes: 100 } });
    try {
      await queues.sendInputs('echo', ['v'.repeat(500)]);
      const [key] = await store.keys();
      await store.evict(key!);
      const server = new LocalTaskServer(queues, { methods, threads: 1 }).start();
      const result = await queues.getResult();
      assert.equal(result.success, false);
      assert.match(result.failureInfo!.message, new RegExp(`gone from file store .*vanishing, key ${key}`));
      await queues.sendKillSignal();
      await server.join();
    } finally {
      await queues.close();
    }
  });

  it('refuses to send when the store cannot be reached, saying which store', async () => {
    const store = new RedisStore({ url: 'redis://127.0.0.1:1', redisOptions: { maxRetriesPerRequest: 0, retryStrategy: () => null } });
    const queues = new LocalQueues<M>({ proxy: { store, thresholdBytes: 100 } });
    try {
      await assert.rejects(queues.sendInputs('echo', ['u'.repeat(500)]), /Cannot store a 502-byte value in Redis store redis:\/\/127\.0\.0\.1:1/);
      assert.equal(queues.activeCount(), 0);
    } finally {
      await queues.close();
      await store.close();
    }
  });

  it('travels through Redis queues with the Redis store', async () => {
    const store = new RedisStore({ url: redis.url, prefix: redis.prefix() });
    const c = campaign(store, { transport: 'redis', serializationMethod: 'msgpack', thresholdBytes: 10_000 });
    try {
      const floats = Float64Array.from({ length: 131_072 }, (_, i) => Math.sin(i));
      await c.queues.sendInputs('echo', [floats]);
      const result = await c.queues.getResult('default', { timeoutMs: 20_000 });
      assert.deepEqual(result.value, floats);
      const sizes = result.messageSizes as Record<string, number>;
      assert.ok(sizes.inputs! > floats.byteLength, "inputs counts the object bytes");
      assert.ok(sizes.inputsReferences! < 1000);
      assert.ok(sizes.valueReference! < 1000);
      await untilEmpty(store);
    } finally {
      await c.stop();
    }
  });
});
