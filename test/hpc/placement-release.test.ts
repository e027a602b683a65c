import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ExecutableMethod } from '../../src/methods/executable.js';
import { inlineMethod } from '../../src/methods/spec.js';
import type { Result } from '../../src/models/result.js';
import { LocalQueues } from '../../src/queue/local.js';
import { allocationFromList } from '../../src/task-server/executors/allocation/allocation.js';
import { AllocationExecutor } from '../../src/task-server/executors/allocation/executor.js';
import type { PlacementEvent } from '../../src/task-server/executors/allocation/placement.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { until } from '../helpers/until.js';

/** Serve `method` on a one-node allocation, run `count` tasks, return results and placer events. */
async function runOnOneNode(method: ExecutableMethod<[], unknown>, count: number, events: PlacementEvent[] = []) {
  const executor = new AllocationExecutor('node', { allocation: allocationFromList(['n1'], { coresPerNode: 2 }) });
  executor.placer.onEvent = (event) => events.push(event);
  const queues = new LocalQueues();
  const server = new LocalTaskServer(queues, { methods: { run: inlineMethod(method as never, { executor: 'node' }) }, executors: { node: executor } }).start();
  try {
    for (let i = 0; i < count; i++) await queues.sendInputs('run', []);
    const results: Result[] = [];
    for (let i = 0; i < count; i++) results.push(await queues.getResult('default', { timeoutMs: 30_000 }));
    return { results, events };
  } finally {
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
  }
}

describe('Placement frees nodes when the launch ends', () => {
  it('gives the node to the next task once the launcher is gone, before postprocessing', async () => {
    const events: PlacementEvent[] = [];
    let postprocessed = 0;
    const method = new ExecutableMethod<[], string>({
      command: ['true'],
      mpi: ['env', 'HOSTS={hosts}'],
      // The first task's postprocess waits for the second task's launcher: it could never start
      // if the node came back only after postprocessing.
      postprocess: async () => {
        if (postprocessed++ === 0) await until(() => events.some((e) => e.kind === 'launch' && e.id === 1), 'the second launcher');
        return 'done';
      },
    });
    const { results } = await runOnOneNode(method, 2, events);
    for (const result of results) assert.equal(result.success, true, result.failureInfo?.message);
    // Per task: grant, launch, exit, release in that order; the next grant follows the release at once.
    const kinds = events.filter((e) => e.kind !== 'request').map((e) => `${e.kind}:${e.id}`);
    assert.deepEqual(kinds, ['grant:0', 'launch:0', 'exit:0', 'release:0', 'grant:1', 'launch:1', 'exit:1', 'release:1']);
  });

  it('records when each task held its nodes, within its compute time, never overlapping on one node', async () => {
    const method = new ExecutableMethod<[], string>({ command: ['sleep', '0.05'], mpi: ['env', 'HOSTS={hosts}'] });
    const { results } = await runOnOneNode(method, 4);
    const held = results.map((r) => {
      const info = r.workerInfo as unknown as { placed_at: number; released_at: number; hosts: string[] };
      assert.deepEqual(info.hosts, ['n1']);
      assert.ok(r.timestamp.computeStarted >= info.placed_at && info.released_at >= info.placed_at && info.released_at <= r.timestamp.computeEnded);
      return info;
    });
    held.sort((a, b) => a.placed_at - b.placed_at);
    for (let i = 1; i < held.length; i++) assert.ok(held[i]!.placed_at >= held[i - 1]!.released_at, 'one task at a time on n1');
  });

  it('frees the node when the launch fails, and when nothing was launched', async () => {
    const failing = new ExecutableMethod<[], string>({ command: ['false'], mpi: ['env', 'HOSTS={hosts}'] });
    const missing = new ExecutableMethod<[], string>({ command: ['colmena-no-such-program'], mpi: ['colmena-no-such-launcher'] });
    const broken = new ExecutableMethod<[], string>({ command: ['true'], preprocess: () => { throw new Error('bad input deck'); } });
    for (const method of [failing, missing, broken]) {
      const { results, events } = await runOnOneNode(method, 3);
      for (const result of results) assert.equal(result.success, false);
      assert.equal(events.filter((e) => e.kind === 'release').length, 3, 'every grant released');
    }
  });

  it('takes one allocation\'s worth of tasks beyond those that run (lookahead), and says what a bad lookahead should be', () => {
    const allocation = allocationFromList(['n1', 'n2', 'n3'], { coresPerNode: 4 });
    assert.equal(new AllocationExecutor('a', { allocation }).capacity, 6);
    assert.equal(new AllocationExecutor('a', { allocation, shareNodes: true, lookahead: 2 }).capacity, 14);
    const big = allocationFromList(Array.from({ length: 100 }, (_, i) => `n${i}`), { coresPerNode: 4 });
    assert.equal(new AllocationExecutor('a', { allocation: big }).capacity, 164, 'the default lookahead stops at 64');
    assert.throws(() => new AllocationExecutor('a', { allocation, lookahead: -1 }), /lookahead.*whole number of tasks, 0 or more/);
  });

  it('writes colmena.hostfile only when the launch template names {hostfile}', async () => {
    const seen = (template: string[]) =>
      new ExecutableMethod<[], boolean>({ command: ['true'], mpi: template, postprocess: (runDir) => existsSync(join(runDir, 'colmena.hostfile')) });
    const named = await runOnOneNode(seen(['env', 'HOSTFILE={hostfile}']), 1);
    const unnamed = await runOnOneNode(seen(['env', 'HOSTS={hosts}']), 1);
    assert.equal(named.results[0]!.value, true);
    assert.equal(unnamed.results[0]!.value, false);
  });
});
