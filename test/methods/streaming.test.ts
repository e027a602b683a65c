/**
 * Streaming as Colmena does it: every yield reaches the thinker while the generator is still
 * suspended after yielding it (the generator waits for the thinker's acknowledgement before going
 * on, so a held-back item would deadlock it), the final result carries the return value (null
 * when none), a timeout mid-stream keeps every item yielded before it, and a method may stream to
 * another topic. On the inline, threads and processes executors alike.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { moduleMethod, type MethodsOf } from '../../src/methods/spec.js';
import type { AnyResult } from '../../src/models/method-types.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import type * as fixtures from './fixtures.js';

process.env.COLMENA_LOG_LEVEL ??= 'error';
const FIXTURES = new URL('./fixtures.ts', import.meta.url);

for (const executor of ['inline', 'threads', 'processes'] as const) {
  describe(`streaming on '${executor}'`, () => {
    const methods = {
      lockstep: moduleMethod<typeof fixtures.lockstep>(FIXTURES, 'lockstep', { executor, generator: 'stream' }),
      toPartial: moduleMethod<typeof fixtures.lockstep>(FIXTURES, 'lockstep', { executor, generator: 'stream', streamTopic: 'partial' }),
      hang: moduleMethod<typeof fixtures.yieldThenHang>(FIXTURES, 'yieldThenHang', { executor, generator: 'stream' }),
    };
    type M = MethodsOf<typeof methods>;
    let queues: LocalQueues<M>;
    let server: LocalTaskServer;
    let dir: string;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'colmena-stream-'));
      queues = new LocalQueues<M>({ topics: ['partial'] });
      server = new LocalTaskServer(queues, { methods, threads: 1, processes: 1 }).start();
    });
    after(async () => {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
      await rm(dir, { recursive: true, force: true });
    });

    /** Receive `count` intermediate results on `topic`, acknowledging each so the generator goes on. */
    async function receiveInLockstep(ackDir: string, count: number, topic = 'default'): Promise<AnyResult<M>[]> {
      const received: AnyResult<M>[] = [];
      for (let i = 1; i <= count; i++) {
        const result = await queues.getResult(topic, { timeoutMs: 20_000 });
        received.push(result);
        await writeFile(join(ackDir, `ack-${i}`), '');
      }
      return received;
    }

    it('sends each yield while the generator waits after it; the final result carries the return value', async () => {
      const ackDir = await mkdtemp(join(dir, 'a-'));
      const id = await queues.sendInputs('lockstep', [ackDir, 3, 'all done']);
      const streamed = await receiveInLockstep(ackDir, 3);
      const final = await queues.getResult('default', { timeoutMs: 20_000 });
      assert.deepEqual([...streamed, final].map((r) => [r.taskId, r.complete, r.success, r.value]), [
        [id, false, true, 1],
        [id, false, true, 2],
        [id, false, true, 3],
        [id, true, true, 'all done'],
      ]);
      assert.equal(queues.activeCount(), 0);
    });

    it('ends with a final result of null when the generator returns nothing', async () => {
      const ackDir = await mkdtemp(join(dir, 'b-'));
      await queues.sendInputs('lockstep', [ackDir, 2, null]);
      await receiveInLockstep(ackDir, 2);
      const final = await queues.getResult('default', { timeoutMs: 20_000 });
      assert.equal(final.complete, true);
      assert.equal(final.success, true);
      assert.equal(final.value, null);
    });

    it('keeps every item yielded before a timeout', async () => {
      const id = await queues.sendInputs('hang', [3], { timeoutMs: 1_000 });
      const results: AnyResult<M>[] = [];
      for (let i = 0; i < 4; i++) results.push(await queues.getResult('default', { timeoutMs: 20_000 }));
      assert.deepEqual(results.slice(0, 3).map((r) => [r.taskId, r.complete, r.value]), [
        [id, false, 1],
        [id, false, 2],
        [id, false, 3],
      ]);
      assert.equal(results[3]!.complete, true);
      assert.equal(results[3]!.timedOut, true, results[3]!.failureInfo?.message);
    });

    it('streams to another topic when the method says so; the final result stays on the task topic', async () => {
      const ackDir = await mkdtemp(join(dir, 'c-'));
      const id = await queues.sendInputs('toPartial', [ackDir, 2, 'end']);
      const streamed = await receiveInLockstep(ackDir, 2, 'partial');
      assert.deepEqual(streamed.map((r) => [r.taskId, r.topic, r.complete, r.value]), [
        [id, 'partial', false, 1],
        [id, 'partial', false, 2],
      ]);
      const final = await queues.getResult('default', { timeoutMs: 20_000 });
      assert.deepEqual([final.taskId, final.topic, final.complete, final.value], [id, 'default', true, 'end']);
    });
  });
}
