/**
 * The executor contract: what every executor must do alike, run against inline, threads,
 * processes and BullMQ (real `colmena worker` processes) by `executor-contract.test.ts`. Each case
 * goes through a real task server and queues, so it checks the whole envelope: a field an
 * executor drops (valueProxy, proxy timings, resources, …) fails here.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type MethodSpec, type MethodsOf, moduleMethod } from '../../src/methods/spec.js';
import type { AnyResult } from '../../src/models/method-types.js';
import { FileStore } from '../../src/proxy/file-store.js';
import { MemoryStore } from '../../src/proxy/memory-store.js';
import { RedisStore } from '../../src/proxy/redis-store.js';
import type { ObjectStore } from '../../src/proxy/store.js';
import { LocalQueues } from '../../src/queue/local.js';
import type { Executor } from '../../src/task-server/executor.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import type * as fixtures from '../fixtures/contract-methods.js';
import { redisFixture } from '../helpers/redis.js';
import { untilEmpty } from '../helpers/stores.js';

export const CONTRACT_METHODS = new URL('../fixtures/contract-methods.ts', import.meta.url);

export type StoreKind = 'memory' | 'file' | 'redis';

/** The contract's methods, all run by the executor called `executor`. */
export function contractMethods(executor: string) {
  const method = <F extends keyof typeof fixtures>(name: F) => moduleMethod<Extract<(typeof fixtures)[F], (...args: never[]) => unknown>>(CONTRACT_METHODS, name, { executor });
  return {
    add: method('add'),
    echo: method('echo'),
    fail: method('fail'),
    sleep: method('sleep'),
    flaky: method('flaky'),
    countdown: moduleMethod<typeof fixtures.countdown>(CONTRACT_METHODS, 'countdown', { executor, generator: 'stream' }),
  } satisfies Record<string, MethodSpec>;
}
type M = MethodsOf<ReturnType<typeof contractMethods>>;

/** What the suite needs to know of one executor. */
export interface ContractSubject {
  /** The executor's name, as methods refer to it. */
  name: string;
  /** Start what the executor's workers need (e.g. `colmena worker` processes), knowing the suite's stores. */
  before?(env: { redisUrl: string; stores: readonly ObjectStore[] }): Promise<void>;
  /** A fresh executor for one task server, or none for the built-in ones. */
  executor?(env: { redisUrl: string }): Executor;
  after?(): Promise<void>;
}

/** Run the executor contract against one executor. */
export function executorContract(subject: ContractSubject): void {
  describe(`executor contract: ${subject.name}`, () => {
    const redis = redisFixture();
    let dir: string;
    let stores: Record<StoreKind, ObjectStore>;

    before(async () => {
      await redis.start();
      dir = await mkdtemp(join(tmpdir(), 'colmena-contract-'));
      stores = {
        memory: new MemoryStore({ id: 'contract-memory' }),
        file: new FileStore({ dir: join(dir, 'store'), id: 'contract-file' }),
        redis: new RedisStore({ url: redis.url, prefix: redis.prefix(), id: 'contract-redis' }),
      };
      await subject.before?.({ redisUrl: redis.url, stores: Object.values(stores) });
    });
    after(async () => {
      await subject.after?.();
      await Promise.all(Object.values(stores).map((store) => store.close()));
      await rm(dir, { recursive: true, force: true });
      await redis.stop();
    });

    /** Queues and a task server running the contract methods on the subject's executor. */
    async function withServer(
      run: (queues: LocalQueues<M>) => Promise<void>,
      proxy?: { store: ObjectStore; thresholdBytes: number },
    ): Promise<void> {
      const queues = new LocalQueues<M>(proxy ? { proxy } : {});
      const executor = subject.executor?.({ redisUrl: redis.url });
      const server = new LocalTaskServer(queues, {
        methods: contractMethods(subject.name),
        threads: 2,
        processes: 2,
        ...(executor && { executors: { [subject.name]: executor } }),
      }).start();
      try {
        await run(queues);
      } finally {
        await queues.sendKillSignal();
        await server.join();
        await queues.close();
      }
    }

    const next = (queues: LocalQueues<M>): Promise<AnyResult<M>> => queues.getResult('default', { timeoutMs: 30_000 });

    it('round-trips a task with its keyword arguments, timings and worker', () =>
      withServer(async (queues) => {
        const id = await queues.sendInputs('add', [2, 3], { kwargs: { c: 10 } });
        const result = await next(queues);
        assert.equal(result.taskId, id);
        assert.equal(result.success, true, result.failureInfo?.message);
        assert.equal(result.value, 15);
        assert.equal(typeof result.workerInfo?.hostname, 'string');
        assert.ok(result.timestamp.computeStarted <= result.timestamp.computeEnded);
        assert.ok(result.time.running >= 0 && result.time.deserializeInputs >= 0 && result.time.serializeResults >= 0);
      }));

    it("reports a method's error with its name, message and stack", () =>
      withServer(async (queues) => {
        await queues.sendInputs('fail', ['on purpose']);
        const result = await next(queues);
        assert.equal(result.success, false);
        assert.equal(result.failureInfo?.name, 'RangeError');
        assert.match(result.failureInfo?.message ?? '', /asked to fail: on purpose/);
        assert.match(result.failureInfo?.stack ?? '', /at fail .*methods\.ts/);
      }));

    it('stops a task that runs past its timeout with one timed-out result, and keeps serving', () =>
      withServer(async (queues) => {
        await queues.sendInputs('sleep', [3_000], { timeoutMs: 200 });
        const timedOut = await next(queues);
        assert.equal(timedOut.success, false);
        assert.equal(timedOut.timedOut, true);
        await queues.sendInputs('add', [1, 1]);
        assert.equal((await next(queues)).value, 2);
        assert.equal(queues.activeCount(), 0);
      }));

    it('cancels a running task with one cancelled result', () =>
      withServer(async (queues) => {
        const id = await queues.sendInputs('sleep', [3_000]);
        // Let it reach its worker first, so what is cancelled is a running task.
        await queues.sendInputs('add', [0, 0]);
        assert.equal((await next(queues)).value, 0);
        assert.equal(await queues.cancel(id), true);
        const cancelled = await next(queues);
        assert.equal(cancelled.taskId, id);
        assert.equal(cancelled.cancelled, true);
        assert.equal(queues.activeCount(), 0);
      }));

    it("streams a generator's yields as intermediate results before the final one", () =>
      withServer(async (queues) => {
        const id = await queues.sendInputs('countdown', [3, 10]);
        const results = [await next(queues), await next(queues), await next(queues), await next(queues)];
        // Every yield is an intermediate result; the final one carries the return value (none: null).
        assert.deepEqual(
          results.map((r) => [r.taskId, r.complete, r.value]),
          [
            [id, false, 3],
            [id, false, 2],
            [id, false, 1],
            [id, true, null],
          ],
        );
      }));

    it('retries a failing task within its maxRetries, keeping each failed attempt', () =>
      withServer(async (queues) => {
        const counter = join(dir, `flaky-${Math.random()}`);
        await queues.sendInputs('flaky', [counter, 2], { maxRetries: 2 });
        const result = await next(queues);
        assert.equal(result.success, true, result.failureInfo?.message);
        assert.equal(result.value, 3);
        assert.equal(result.retries, 2);
        assert.deepEqual(
          result.failedAttempts.map((attempt) => attempt.failure.message),
          ['flaky failure 1', 'flaky failure 2'],
        );
      }));

    it('sends small values inline when no store is configured', () =>
      withServer(async (queues) => {
        const big = 'z'.repeat(50_000);
        await queues.sendInputs('echo', [big]);
        const result = await next(queues);
        assert.equal(result.value, big);
        assert.deepEqual(result.time.proxy, {});
      }));

    for (const kind of ['memory', 'file', 'redis'] as const) {
      it(`passes a 50 kB input and value by reference through the ${kind} store (1,000-byte threshold)`, () => {
        const store = stores[kind];
        return withServer(
          async (queues) => {
            const big = `${kind}:${'x'.repeat(50_000)}`;
            await queues.sendInputs('echo', [big]);
            const result = await next(queues);
            assert.equal(result.success, true, result.failureInfo?.message);
            assert.equal(result.value, big);
            const timings = Object.values(result.time.proxy) as { bytes: number; put?: number; get?: number }[];
            assert.equal(timings.length, 2, `one reference for the input and one for the value, got ${JSON.stringify(result.time.proxy)}`);
            for (const timing of timings) {
              assert.ok(timing.bytes > 50_000);
              assert.ok(timing.put! >= 0 && timing.get! >= 0, `put and get both timed: ${JSON.stringify(timing)}`);
            }
            assert.ok(result.time.asyncResolveProxies >= 0, `asyncResolveProxies measured, got ${result.time.asyncResolveProxies}`);
            await untilEmpty(store);
          },
          { store, thresholdBytes: 1_000 },
        );
      });
    }
  });
}

