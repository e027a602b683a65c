/**
 * The run log keeps where each task ran: the nodes an allocation executor placed it on and the
 * accelerators it held (worker info `hosts`, `gpu_ids`), so reports can show node utilization.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { moduleMethod } from '../../src/methods/spec.js';
import { Result } from '../../src/models/result.js';
import { summarize } from '../../src/monitor/report/stats.js';
import { readRunLog } from '../../src/monitor/run-log/reader.js';
import { nodesOf, resultLine, resultRecord, type ResultRecord } from '../../src/monitor/run-log/records.js';
import { RunLog } from '../../src/monitor/run-log/run-log.js';
import { LocalQueues } from '../../src/queue/local.js';
import { allocationFromList } from '../../src/task-server/executors/allocation/allocation.js';
import { AllocationExecutor } from '../../src/task-server/executors/allocation/executor.js';
import { ProcessesExecutor } from '../../src/task-server/executors/processes.js';
import { LocalTaskServer } from '../../src/task-server/local.js';

process.env.COLMENA_LOG_LEVEL ??= 'error';

const LAUNCHES = new URL('../hpc/fixtures/launches.ts', import.meta.url);
const ACCELERATORS = new URL('../fixtures/accelerator-methods.ts', import.meta.url);

describe('run log: the nodes and devices a task ran on', () => {
  it('records the placed hosts and GPU ids of each result, as the results carry them, and reads them back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'colmena-run-log-hosts-'));
    try {
      const logPath = join(dir, 'run.jsonl');
      const nodes = new AllocationExecutor('nodes', { allocation: allocationFromList(['n1', 'n2', 'n3'], { coresPerNode: 2, gpusPerNode: 2 }) });
      const gpus = new ProcessesExecutor('gpus', { accelerators: ['4', '6'] });
      const methods = {
        place: moduleMethod(LAUNCHES, 'showDevices', { executor: 'nodes' }),
        pinned: moduleMethod(ACCELERATORS, 'devicesSeen', { executor: 'gpus' }),
        plain: moduleMethod(ACCELERATORS, 'devicesSeen', { executor: 'processes' }),
      };
      const queues = new LocalQueues();
      const server = new LocalTaskServer(queues, { methods, executors: { nodes, gpus }, processes: 1 }).start();
      const runLog = await RunLog.open(logPath);
      runLog.attachQueues(queues);
      const results = new Map<string, Result>();
      try {
        await queues.sendInputs('place', [], { resources: { nodeCount: 2, gpusPerRank: 1 } });
        await queues.sendInputs('place', [], { resources: { nodeCount: 1 } });
        await queues.sendInputs('pinned', [], { resources: { gpusPerRank: 1 } });
        await queues.sendInputs('plain', []);
        for (let i = 0; i < 4; i++) {
          const result = await queues.getResult('default', { timeoutMs: 60_000 });
          assert.equal(result.success, true, result.failureInfo?.message);
          results.set(result.taskId, result);
        }
      } finally {
        await queues.sendKillSignal();
        await server.join();
        await queues.close();
        await runLog.close();
      }
      const log = await readRunLog(logPath);
      assert.deepEqual(log.problems, []);
      const records = log.records.filter((record): record is ResultRecord => record.type === 'result');
      assert.equal(records.length, 4);
      for (const record of records) {
        const result = results.get(record.taskId)!;
        const worker = record.worker!;
        const info = result.workerInfo!;
        if (record.method === 'place') {
          assert.deepEqual(worker.hosts, info.hosts, 'the placed hosts, as on the result');
          assert.equal(worker.hosts!.length, result.resources.nodeCount);
          for (const host of worker.hosts!) assert.ok(['n1', 'n2', 'n3'].includes(host));
          assert.deepEqual(nodesOf(worker), worker.hosts);
          if (result.resources.gpusPerRank > 0) assert.deepEqual(worker.gpuIds, info.gpu_ids);
          assert.equal(worker.placedAt, info.placed_at, 'when the nodes were granted');
          assert.equal(worker.releasedAt, info.released_at, 'and when they were taken back');
          assert.ok(worker.releasedAt! >= worker.placedAt!);
        } else if (record.method === 'pinned') {
          assert.equal(worker.hosts, undefined);
          assert.deepEqual(worker.gpuIds, info.gpu_ids);
          assert.equal(worker.gpuIds!.length, 1);
          assert.deepEqual(nodesOf(worker), [info.hostname], 'a task not placed ran on its worker host');
        } else {
          assert.equal('hosts' in worker, false, 'nothing added for a task that was neither placed nor pinned');
          assert.equal('gpuIds' in worker, false);
        }
      }
      // The report charts node utilization from those holds: node-seconds as the records give them.
      const nodePanel = summarize(log).utilization.find((panel) => panel.source === 'placements');
      assert.ok(nodePanel, 'a node utilization panel');
      assert.equal(nodePanel.capacityLabel, 'nodes seen');
      assert.deepEqual(nodePanel.busy.map((b) => b.series), ['place']);
      const held = records.filter((r) => r.worker?.placedAt !== undefined).reduce((sum, r) => sum + r.worker!.hosts!.length * (r.worker!.releasedAt! - r.worker!.placedAt!), 0);
      assert.ok(held > 0 && nodePanel.busySeconds <= held + 1e-9, `node-seconds in the window (${nodePanel.busySeconds}) are at most those held (${held})`);
      assert.ok(nodePanel.utilization > 0 && nodePanel.utilization <= 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes hosts and GPU ids in the hand-written line exactly as the record has them, and drops malformed ones', () => {
    const placed = Result.create({ method: 'm', args: [] });
    placed.workerInfo = { hostname: 'head', pid: 1, workerId: 'nodes', hosts: ['n1', 'n2'], gpu_ids: ['0'] };
    const odd = Result.create({ method: 'm', args: [] });
    // Worker info from another process (e.g. Python) may carry keys of the same names in other shapes.
    odd.workerInfo = { hostname: 'py', hosts: 'n1', gpu_ids: [0, 1] };
    for (const result of [placed, odd]) {
      assert.deepEqual(JSON.parse(resultLine(result, 5)), JSON.parse(JSON.stringify(resultRecord(result, 5))));
    }
    assert.deepEqual(resultRecord(placed, 5).worker, { hostname: 'head', pid: 1, workerId: 'nodes', hosts: ['n1', 'n2'], gpuIds: ['0'] });
    assert.deepEqual(resultRecord(odd, 5).worker, { hostname: 'py', pid: null, workerId: null });
  });
});
