/**
 * `npm run bench -- resume`: resuming a campaign from its run log.
 *
 * - Time from start to the first new task when a thinker resumes a record of 100,000 results
 *   (target ≤ 2 s): read the record, replay every result, start the agents, send. Beside it the
 *   raw limit measured in the same run: reading the same file and splitting it into lines.
 * - The run log's cost per task with inputs and values on (`tasks: true`): µs to record one task
 *   sent and its result, and bytes written, against timings only and against the bare wire
 *   encoding of the request and the result (the least a complete record can cost).
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Emitter } from '../src/common/emitter.js';
import { inlineMethod } from '../src/methods/spec.js';
import { Result } from '../src/models/result.js';
import { encodeWireMessage } from '../src/models/wire.js';
import { encodeValue } from '../src/models/serialization.js';
import { readCampaignRecord } from '../src/monitor/run-log/campaign-record.js';
import { RunLog } from '../src/monitor/run-log/run-log.js';
import type { ColmenaQueues } from '../src/queue/base.js';
import { LocalQueues } from '../src/queue/local.js';
import { LocalTaskServer } from '../src/task-server/local.js';
import { evaluate, objective } from '../test/resume/fixtures/methods.js';
import { type SweepMethods, SweepThinker } from '../test/resume/fixtures/sweep.js';
import { flag, option, report, round } from './lib.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

interface QueueEvents {
  sent: Result;
  result: Result;
}

/** A finished task of the sweep, as a thinker would have taken it. */
function finishedTask(i: number): { sent: Result; result: Result } {
  const sent = Result.create({ method: 'evaluate', args: [i, 0], topic: 'sweep' });
  const result = Result.create({ method: 'evaluate', args: [i, 0], topic: 'sweep', taskId: sent.taskId });
  result.timestamp = { ...sent.timestamp, inputReceived: sent.timestamp.created, computeStarted: sent.timestamp.created, computeEnded: sent.timestamp.created, resultSent: sent.timestamp.created, resultReceived: sent.timestamp.created };
  result.success = true;
  result.complete = true;
  result.encodedValue = encodeValue('json', objective(i));
  result.workerInfo = { hostname: 'bench', pid: process.pid };
  return { sent, result };
}

/** Write a record of `count` finished tasks through a real RunLog; returns µs per task and bytes. */
async function writeRecord(path: string, count: number, tasks: boolean, pairs: { sent: Result; result: Result }[]): Promise<{ usPerTask: number; bytesPerTask: number }> {
  await rm(path, { force: true });
  const events = new Emitter<QueueEvents>();
  const log = await RunLog.open(path, { tasks, meta: { campaign: 'bench-resume' } });
  log.attachQueues({ events });
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const pair = pairs[i % pairs.length]!;
    events.emit('sent', pair.sent);
    events.emit('result', pair.result);
  }
  await log.close();
  const usPerTask = ((performance.now() - started) * 1000) / count;
  return { usPerTask, bytesPerTask: (await stat(path)).size / count };
}

export async function main(argv: string[]): Promise<void> {
  const quick = flag(argv, 'quick');
  const results = option(argv, 'results', quick ? 20_000 : 100_000);
  const costTasks = option(argv, 'cost-tasks', quick ? 10_000 : 50_000);
  const path = join(tmpdir(), `colmena-bench-resume-${process.pid}.jsonl`);
  try {
    // ---- the run log's cost per task ----
    const pairs = Array.from({ length: 1000 }, (_, i) => finishedTask(i));
    const timingsOnly = await writeRecord(path, costTasks, false, pairs);
    const complete = await writeRecord(path, costTasks, true, pairs);
    const encodeStarted = performance.now();
    let encodedBytes = 0;
    for (let i = 0; i < costTasks; i++) {
      const pair = pairs[i % pairs.length]!;
      encodedBytes += encodeWireMessage(pair.sent).length + encodeWireMessage(pair.result).length;
    }
    const encodeUs = ((performance.now() - encodeStarted) * 1000) / costTasks;
    report({
      bench: 'resume-record',
      tasks: costTasks,
      us_per_task_with_inputs_and_values: round(complete.usPerTask, 2),
      bytes_per_task_with_inputs_and_values: Math.round(complete.bytesPerTask),
      us_per_task_timings_only: round(timingsOnly.usPerTask, 2),
      bytes_per_task_timings_only: Math.round(timingsOnly.bytesPerTask),
      raw_limit_us_per_task_wire_encoding: round(encodeUs, 2),
      raw_limit_bytes_per_task_wire_encoding: Math.round(encodedBytes / costTasks),
    });

    // ---- time to the first new task, resuming `results` results ----
    const recordPairs = Array.from({ length: results }, (_, i) => finishedTask(i));
    await writeRecord(path, results, true, recordPairs);
    recordPairs.length = 0;
    const fileBytes = (await stat(path)).size;

    const rawStarted = performance.now();
    const rawCpu = process.cpuUsage();
    const lines = (await readFile(path, 'utf8')).split('\n').length;
    const rawMs = performance.now() - rawStarted;
    const rawCpuMs = cpuMs(process.cpuUsage(rawCpu));

    const queues = new LocalQueues<SweepMethods>({ topics: ['sweep'] });
    const server = new LocalTaskServer(queues as unknown as ColmenaQueues, { methods: { evaluate: inlineMethod(evaluate) } }).start();
    const thinker = new SweepThinker(queues, { budget: results + 100, slots: 4, workMs: 0 });
    let firstCpu: NodeJS.CpuUsage | null = null;
    const firstSent = new Promise<number>((resolve) => {
      const stop = queues.events.on('sent', () => {
        stop();
        firstCpu = process.cpuUsage(startedCpu);
        resolve(performance.now());
      });
    });
    const started = performance.now();
    const startedCpu = process.cpuUsage();
    const record = await readCampaignRecord(path);
    const readMs = performance.now() - started;
    await thinker.resume(record);
    const firstNewTaskMs = (await firstSent) - started;
    await thinker.join();
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
    if (thinker.replayed !== results || thinker.counted.size !== results + 100) {
      throw new Error(`resume replayed ${thinker.replayed} of ${results} results and counted ${thinker.counted.size} points`);
    }
    report({
      bench: 'resume',
      recorded_results: results,
      record_mib: round(fileBytes / 2 ** 20, 1),
      first_new_task_ms: round(firstNewTaskMs, 1),
      target_ms: 2000,
      // CPU time of this process (all threads): on a shared, loaded machine wall time overstates.
      first_new_task_cpu_ms: round(cpuMs(firstCpu!), 1),
      of_which_read_ms: round(readMs, 1),
      raw_limit_read_and_split_ms: round(rawMs, 1),
      raw_limit_read_and_split_cpu_ms: round(rawCpuMs, 1),
      raw_limit_lines: lines,
    });
  } finally {
    if (!process.env.KEEP) await rm(path, { force: true });
  }
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}
