/**
 * A small campaign run by the password test in a process of its own, so everything it logs can be
 * captured: `node --import tsx secret-campaign.ts <url-with-password> <url-with-wrong-password> <prefix>`.
 * Prints one JSON line with what each step gave back (values, failure messages, labels).
 */
import { moduleMethod } from '../../src/methods/spec.js';
import { RedisStore } from '../../src/proxy/redis-store.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { LocalTaskServer } from '../../src/task-server/local.js';

const [url, wrongUrl, prefix] = process.argv.slice(2) as [string, string, string];
const FIXTURES = new URL('../fixtures/methods.ts', import.meta.url);
const out: Record<string, unknown> = {};

// Wrong password: the store's error must say what failed without repeating the password.
const wrongStore = new RedisStore({ url: wrongUrl, prefix: `${prefix}-store` });
out.wrongStoreLabel = wrongStore.label;
out.wrongStoreId = wrongStore.id;
await wrongStore.put('k', new Uint8Array(10)).then(
  () => (out.wrongStorePut = 'succeeded?!'),
  (error: Error) => (out.wrongStorePut = error.message),
);
await wrongStore.get('k', 10).then(
  () => (out.wrongStoreGet = 'succeeded?!'),
  (error: Error) => (out.wrongStoreGet = error.message),
);
await wrongStore.close();

const store = new RedisStore({ url, prefix: `${prefix}-store` });
const client = new RedisQueues({ url, prefix, role: 'client', proxy: { store, thresholdBytes: 100 } });
const serverSide = new RedisQueues({ url, prefix, role: 'server' });
const server = new LocalTaskServer(serverSide, {
  methods: {
    onThreads: moduleMethod(FIXTURES, 'echo'),
    inProcesses: moduleMethod(FIXTURES, 'echo', { executor: 'processes' }),
  },
  threads: 1,
  processes: 1,
}).start();
const results: unknown[] = [];
for (const method of ['onThreads', 'inProcesses'] as const) {
  await client.sendInputs(method, ['s'.repeat(1000)]);
  const result = await client.getResult('default', { timeoutMs: 30_000 });
  results.push({ method, success: result.success, length: (result.value as string | undefined)?.length, failure: result.failureInfo?.message });
}
out.results = results;
out.storeLabel = store.label;
out.storeId = store.id;
await client.sendKillSignal();
await server.join();
await client.close();
await serverSide.close();
await store.close();
console.log(JSON.stringify(out));
process.exit(0);
