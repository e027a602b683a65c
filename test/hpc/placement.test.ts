import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResourceRequirements } from '../../src/models/resources.js';
import {
  allocationFromHostfileText, allocationFromList, expandSlurmCounts,
} from '../../src/task-server/executors/allocation/allocation.js';
import { NodePlacer, type PlacementEvent } from '../../src/task-server/executors/allocation/placement.js';

/** Deterministic sizes 1–3 and hold times, so a failure replays the same way. */
function sizes(count: number): number[] {
  return Array.from({ length: count }, (_, i) => ((i * 7 + 3) % 3) + 1);
}

/**
 * Replay the placer's events: nodes in use never exceed the allocation, and after every event no
 * waiting task that could start is left waiting (the first one for FIFO, any one with backfill).
 */
function checkEvents(events: PlacementEvent[], need: Map<number, number>, nodes: number, backfill: boolean): void {
  const held = new Map<number, number>();
  const waiting: number[] = [];
  for (const [index, event] of events.entries()) {
    if (event.kind === 'request') waiting.push(event.id);
    if (event.kind === 'grant') {
      assert.equal(event.hosts.length, need.get(event.id));
      assert.equal(new Set(event.hosts).size, event.hosts.length, 'distinct nodes');
      if (!backfill) assert.equal(waiting[0], event.id, 'FIFO: the first waiting task is the one granted');
      waiting.splice(waiting.indexOf(event.id), 1);
      held.set(event.id, event.hosts.length);
    }
    if (event.kind === 'release') held.delete(event.id);
    const inUse = [...held.values()].reduce((a, b) => a + b, 0);
    assert.ok(inUse <= nodes, `at most ${nodes} nodes in use, saw ${inUse}`);
    // Grants follow at once the event that freed nodes; when the next event is not a grant, the
    // placer has settled, and then no waiting task may fit in the free nodes.
    if (events[index + 1]?.kind !== 'grant') {
      const free = nodes - inUse;
      const candidates = backfill ? waiting : waiting.slice(0, 1);
      for (const id of candidates) assert.ok(need.get(id)! > free, `task ${id} (${need.get(id)} nodes) waits while ${free} are free`);
    }
  }
}

async function runEnsemble(backfill: boolean): Promise<void> {
  const placer = new NodePlacer(allocationFromList(['n1', 'n2', 'n3'], { coresPerNode: 4 }), { backfill });
  const events: PlacementEvent[] = [];
  const need = new Map<number, number>();
  let free = 3;
  // After each event settles: is a task left waiting that fits in the free nodes?
  placer.onEvent = (event) => {
    events.push(event);
    if (event.kind === 'grant') free -= event.hosts.length;
    if (event.kind === 'release') free += need.get(event.id)!;
  };
  const tasks = sizes(40).map(async (nodeCount, index) => {
    need.set(index, nodeCount);
    const lease = await placer.place(new ResourceRequirements({ nodeCount }));
    // Hold the nodes for a few turns of the event loop, different per task.
    for (let turn = 0; turn < (index % 5) + 1; turn++) await new Promise((resolve) => setImmediate(resolve));
    lease.release();
  });
  await Promise.all(tasks);
  checkEvents(events, need, 3, backfill);
  assert.equal(free, 3);
  assert.equal(placer.busyNodes, 0);
  assert.equal(events.filter((e) => e.kind === 'grant').length, 40);
}

describe('NodePlacer', () => {
  it('places 40 tasks of 1–3 nodes on 3 nodes in FIFO order, never oversubscribing', () => runEnsemble(false));
  it('with backfill, lets smaller tasks past a waiting large one, still never oversubscribing', () => runEnsemble(true));

  it('with backfill a 1-node task starts while a 3-node task waits; without, it waits behind it', async () => {
    for (const backfill of [false, true]) {
      const placer = new NodePlacer(allocationFromList(['n1', 'n2', 'n3']), { backfill });
      const first = await placer.place(new ResourceRequirements({ nodeCount: 2 }));
      let bigStarted = false;
      let smallStarted = false;
      const big = placer.place(new ResourceRequirements({ nodeCount: 3 })).then((lease) => ((bigStarted = true), lease));
      const small = placer.place(new ResourceRequirements({ nodeCount: 1 })).then((lease) => ((smallStarted = true), lease));
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(bigStarted, false);
      assert.equal(smallStarted, backfill);
      first.release();
      if (backfill) (await small).release();
      (await big).release();
      (await small).release();
    }
  });

  it('gives 1-GPU tasks distinct devices on shared nodes, never the same one at the same time', async () => {
    const placer = new NodePlacer(allocationFromList(['n1', 'n2'], { coresPerNode: 8, gpusPerNode: 4 }), { shareNodes: true });
    const inUse = new Set<string>();
    let peak = 0;
    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const lease = await placer.place(new ResourceRequirements({ gpusPerRank: 1 }));
        assert.equal(lease.gpuIds.length, 1);
        const device = `${lease.hosts[0]}:${lease.gpuIds[0]}`;
        assert.equal(inUse.has(device), false, `${device} is not shared`);
        inUse.add(device);
        peak = Math.max(peak, inUse.size);
        for (let turn = 0; turn < (i % 3) + 1; turn++) await new Promise((resolve) => setImmediate(resolve));
        inUse.delete(device);
        lease.release();
      }),
    );
    assert.equal(peak, 8, 'all 8 devices were used at once');
  });

  it('refuses at once a task the allocation can never hold, naming what to lower', () => {
    const placer = new NodePlacer(allocationFromList(['n1', 'n2'], { coresPerNode: 4 }));
    assert.throws(() => placer.place(new ResourceRequirements({ nodeCount: 3 })), /can never be placed.*Lower nodeCount/);
    assert.throws(() => placer.place(new ResourceRequirements({ gpusPerRank: 1 })), /0 GPUs/);
  });

  it('withdraws a waiting task when its signal aborts, and the next one moves up', async () => {
    const placer = new NodePlacer(allocationFromList(['n1']));
    const held = await placer.place(new ResourceRequirements());
    const controller = new AbortController();
    const withdrawn = placer.place(new ResourceRequirements(), controller.signal);
    const next = placer.place(new ResourceRequirements());
    controller.abort(new Error('cancelled'));
    await assert.rejects(withdrawn, /cancelled/);
    held.release();
    (await next).release();
    assert.equal(placer.waiting, 0);
  });
});

describe('Allocation discovery', () => {
  it('reads Slurm per-node counts', () => {
    assert.deepEqual(expandSlurmCounts('4(x3),2'), [4, 4, 4, 2]);
    assert.throws(() => expandSlurmCounts('four'), /Cannot read the Slurm per-node count/);
  });

  it('reads hostfiles with slots and PBS node files with a line per core', () => {
    assert.deepEqual(
      allocationFromHostfileText('# nodes\nn1 slots=4\nn2 slots=2\n').nodes.map((n) => [n.name, n.cores]),
      [['n1', 4], ['n2', 2]],
    );
    assert.deepEqual(
      allocationFromHostfileText('a\na\na\nb\nb\nb\n', {}, 'pbs').nodes.map((n) => [n.name, n.cores]),
      [['a', 3], ['b', 3]],
    );
    assert.throws(() => allocationFromList(['n1', 'n1']), /repeat/);
  });
});
