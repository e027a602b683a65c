import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { moduleMethod, type MethodSpec, remoteMethod } from '../../src/methods/spec.js';
import { BullmqExecutor } from '../../src/task-server/bullmq/executor.js';
import { WorkerFleet } from '../fixtures/bullmq-workers.js';
import { type RedisServerHandle, startRedisServer } from '../helpers/redis-server.js';
import { LocalQueues } from '../../src/queue/local.js';
import { allocationFromList } from '../../src/task-server/executors/allocation/allocation.js';
import { AllocationExecutor } from '../../src/task-server/executors/allocation/executor.js';
import type { Executor } from '../../src/task-server/executor.js';
import { ProcessesExecutor } from '../../src/task-server/executors/processes.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { processesMatching } from '../helpers/programs.js';

const FIXTURES = new URL('./fixtures/launches.ts', import.meta.url);
let marker = 700;
/** A sleep length no other process uses, so `ps` finds exactly this test's processes. */
const uniqueSeconds = (): string => `${marker++}.${process.pid % 1000}`;

let redis: RedisServerHandle | undefined;
const fleet = new WorkerFleet();
let workerStarted = false;
const prefix = `kill-${process.pid}`;

const executors: Record<string, () => Promise<Executor | undefined>> = {
  inline: async () => undefined,
  processes: async () => new ProcessesExecutor('processes', { processes: 1 }),
  allocation: async () => new AllocationExecutor('allocation', { allocation: allocationFromList(['localhost'], { coresPerNode: 2 }) }),
  // A real `colmena worker` process serving the fixture module's executables.
  bullmq: async () => {
    redis ??= await startRedisServer();
    if (!workerStarted) {
      await fleet.spawn({ url: redis.url, prefix, executor: 'bullmq', methods: fileURLToPath(FIXTURES), concurrency: 1 });
      workerStarted = true;
    }
    return new BullmqExecutor('bullmq', { url: redis.url, prefix });
  },
};

type Ending = 'timeout' | 'cancel' | 'stop';

async function launchAndEnd(executorName: string, exportName: string, ending: Ending): Promise<void> {
  const seconds = uniqueSeconds();
  const custom = await executors[executorName]!();
  const methods: Record<string, MethodSpec> = {
    [exportName]: executorName === 'bullmq' ? remoteMethod({ executor: 'bullmq' }) : moduleMethod(FIXTURES, exportName, { executor: executorName }),
  };
  const queues = new LocalQueues();
  const server = new LocalTaskServer(queues, { methods, executors: custom ? { [executorName]: custom } : {} }).start();
  try {
    const taskId = await queues.sendInputs(exportName, [seconds], ending === 'timeout' ? { timeoutMs: executorName === 'inline' ? 2000 : 6000 } : {});
    // The program must really be running before it is ended.
    let running: string[] = [];
    const deadline = Date.now() + 20_000;
    while (running.length < 2 && Date.now() < deadline) {
      running = await processesMatching(`sleep ${seconds}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(running.length >= 2, `both processes started: ${running.join('\n')}`);
    if (ending === 'cancel') await queues.cancel(taskId);
    if (ending === 'stop') {
      await server.stop({ abortAfterMs: 100 });
    }
    const result = await queues.getResult('default', { timeoutMs: 30_000 });
    assert.equal(result.success, false);
    const deadlineGone = Date.now() + 15_000;
    let left = await processesMatching(`sleep ${seconds}`);
    while (left.length > 0 && Date.now() < deadlineGone) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      left = await processesMatching(`sleep ${seconds}`);
    }
    if (left.length > 0) {
      // Leave the machine clean for the next test: end what this test started, by pid.
      for (const line of left) process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    }
    assert.deepEqual(left, [], `nothing of the task is left running (${ending} on ${executorName})`);
  } finally {
    if (ending !== 'stop') {
      await queues.sendKillSignal();
      await server.join();
    }
    await queues.close();
  }
}

describe('A task\'s processes never outlive it', { concurrency: 1 }, () => {
  after(async () => {
    await fleet.killAll();
    await redis?.stop();
  });
  for (const executorName of Object.keys(executors)) {
    it(`a child that called setsid: timeout on ${executorName}`, () => launchAndEnd(executorName, 'setsidSleep', 'timeout'));
    for (const ending of ['timeout', 'cancel', 'stop'] as const) {
      it(`mpirun -np 2 of a program that is not MPI-aware: ${ending} on ${executorName}`, () => launchAndEnd(executorName, 'mpirunSleep', ending));
    }
  }
});
