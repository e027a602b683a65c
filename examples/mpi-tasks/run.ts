/**
 * Colmena's "mpi-tasks" demo: an MPI simulator compiled with mpicc, launched by the task server
 * with a rank count chosen per task.
 *
 *   npx tsx examples/mpi-tasks/run.ts [--tasks 6] [--max-ranks 2] [--intervals 20000000]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { ExecutableMethod, inlineMethod, LocalQueues, LocalTaskServer, type MethodsOf } from '../../src/index.js';

interface PiRun {
  pi: number;
  ranks: number;
  intervals: number;
  seconds: number;
}

export async function runMpiTasks(options: { tasks: number; maxRanks: number; intervals: number }): Promise<PiRun[]> {
  const buildDir = await mkdtemp(join(tmpdir(), 'colmena-mpi-demo-'));
  const binary = join(buildDir, 'pi');
  await promisify(execFile)('mpicc', ['-O2', '-o', binary, fileURLToPath(new URL('./pi.c', import.meta.url))]);

  const simulate = new ExecutableMethod<[number], PiRun>({
    command: [binary],
    // Root needs --allow-run-as-root; a small machine needs --oversubscribe for more ranks than cores.
    mpi: ['mpirun', '--allow-run-as-root', '--oversubscribe', '-np', '{total_ranks}'],
    preprocess: (_runDir, [intervals]) => ({ args: [String(intervals)] }),
    postprocess: async (runDir) => {
      const { readFile } = await import('node:fs/promises');
      return JSON.parse(await readFile(join(runDir, 'colmena.stdout'), 'utf8')) as PiRun;
    },
  });
  const methods = { simulate: inlineMethod(simulate) };
  const queues = new LocalQueues<MethodsOf<typeof methods>>();
  const server = new LocalTaskServer(queues, { methods }).start();
  try {
    for (let i = 0; i < options.tasks; i++) {
      const ranks = 1 + (i % options.maxRanks);
      await queues.sendInputs('simulate', [options.intervals], { resources: { cpuProcesses: ranks }, taskInfo: { ranks } });
    }
    const runs: PiRun[] = [];
    for (let i = 0; i < options.tasks; i++) {
      const result = await queues.getResult();
      if (!result.success) throw new Error(`task failed: ${result.failureInfo?.message}`);
      runs.push(result.value!);
      console.log(
        `ranks=${result.value!.ranks} pi=${result.value!.pi.toFixed(10)} compute=${result.value!.seconds.toFixed(3)}s ` +
          `launch+run=${result.time.additional.exec_execution!.toFixed(3)}s`,
      );
    }
    return runs;
  } finally {
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
    await rm(buildDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { tasks: { type: 'string', default: '6' }, 'max-ranks': { type: 'string', default: '2' }, intervals: { type: 'string', default: '20000000' } },
  });
  await runMpiTasks({ tasks: Number(values.tasks), maxRanks: Number(values['max-ranks']), intervals: Number(values.intervals) });
}
