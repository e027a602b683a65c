import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ColmenaError } from '../../src/common/errors.js';
import { ExecutableFailedError, ExecutableMethod, fillLaunchTemplate } from '../../src/methods/executable.js';
import { LAUNCHERS } from '../../src/methods/launch-template.js';
import { inlineMethod, type MethodsOf, moduleMethod } from '../../src/methods/spec.js';
import { ResourceRequirements } from '../../src/models/resources.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { buildPrograms } from '../helpers/programs.js';

const MPI_LAUNCH = ['mpirun', '--allow-run-as-root', '--oversubscribe', '-np', '{total_ranks}'];

describe('ExecutableMethod', () => {
  let programs: Awaited<ReturnType<typeof buildPrograms>>;
  before(async () => {
    programs = await buildPrograms();
  });
  after(async () => programs.cleanup());

  it('passes arguments literally, with no shell in between', async () => {
    const hostile = ['; rm -rf /tmp/nothing', '$(touch /tmp/colmena-pwned)', '`id`', "it's \"quoted\"", '*'];
    const method = new ExecutableMethod<[string[]], string>({
      command: [programs.simulator],
      preprocess: (_dir, [args]) => ({ args }),
    });
    const { value } = await method.execute([hostile], {});
    assert.deepEqual(value.trim().split('\n'), hostile.map((arg) => `arg:${arg}`));
    assert.equal(existsSync('/tmp/colmena-pwned'), false);
  });

  it('feeds standard input, postprocesses the run directory, and times each phase', async () => {
    let seenDir = '';
    const method = new ExecutableMethod<[string], number>({
      command: [programs.simulator, 'fixed'],
      preprocess: async (runDir, [text]) => {
        seenDir = runDir;
        await writeFile(join(runDir, 'input.txt'), text);
        return { args: ['input.txt'], stdin: text };
      },
      postprocess: async (runDir) => (await readFile(join(runDir, 'colmena.stdout'), 'utf8')).split('\n').filter(Boolean).length,
    });
    const { value, additional } = await method.execute(['hello\n'], {});
    assert.equal(value, 3, 'arg:fixed, arg:input.txt and one stdin line');
    for (const phase of ['exec_preprocess', 'exec_execution', 'exec_postprocess'] as const) assert.ok(additional[phase] >= 0);
    assert.equal(existsSync(seenDir), false, 'the run directory is removed');
  });

  it('keeps the run directory when asked', async () => {
    let seenDir = '';
    const method = new ExecutableMethod({ command: [programs.simulator, 'x'], keepRunDir: true, preprocess: (runDir) => ((seenDir = runDir), {}) });
    await method.execute([], {});
    try {
      assert.equal(await readFile(join(seenDir, 'colmena.stdout'), 'utf8'), 'arg:x\n');
    } finally {
      await rm(seenDir, { recursive: true, force: true }); // kept for the test, not for the temp dir
    }
  });

  it('fails with the exit code and the end of stderr', async () => {
    const method = new ExecutableMethod({ command: [programs.simulator, '--fail'] });
    await assert.rejects(method.execute([], {}), (error: unknown) => {
      assert.ok(error instanceof ExecutableFailedError);
      assert.equal(error.exitCode, 3);
      assert.match(error.message, /exited with code 3/);
      assert.match(error.stderrTail, /diverged at step 42/);
      return true;
    });
  });

  it('says which program is missing', async () => {
    const method = new ExecutableMethod({ command: ['/nonexistent/simulate'] });
    await assert.rejects(method.execute([], {}), /Cannot run '\/nonexistent\/simulate': no such program/);
  });

  it('refuses an unknown placeholder before anything is spawned', () => {
    assert.throws(
      () => new ExecutableMethod({ command: ['x'], mpi: ['mpirun', '-np', '{ranks}'] }),
      (error: unknown) => error instanceof ColmenaError && /Unknown placeholder \{ranks\}.*\{total_ranks\}/.test(error.message),
    );
    const resources = new ResourceRequirements({ nodeCount: 2, cpuProcesses: 3, cpuThreads: 4 });
    assert.deepEqual(fillLaunchTemplate(['-n', '{total_ranks}', '--threads={cpu_threads}', '{node_count}x{cpu_processes}'], resources), [
      '-n',
      '6',
      '--threads=4',
      '2x3',
    ]);
  });

  it('accepts a launch template as one string (Colmena\'s mpi_command_string), split without a shell', async () => {
    const method = new ExecutableMethod<[], string>({ command: [programs.mpiRanks], mpi: 'mpirun --allow-run-as-root --oversubscribe -np {total_ranks}' });
    assert.deepEqual(method.commandLine({ cpuProcesses: 2 }).slice(0, 5), ['mpirun', '--allow-run-as-root', '--oversubscribe', '-np', '2']);
    const { value } = await method.execute([], {}, { resources: { cpuProcesses: 2 } });
    assert.deepEqual(value.trim().split('\n').sort(), ['rank 0 of 2', 'rank 1 of 2']);
  });

  it('asks for a placement when a template names the hosts and none was given', async () => {
    const method = new ExecutableMethod({ command: ['true'], mpi: LAUNCHERS.srun });
    await assert.rejects(method.execute([], {}), /\{hosts\} needs a placement: serve this method on an AllocationExecutor/);
  });

  it('starts programs with the base environment plus env, never COLMENA_* variables; inheritEnv passes the rest', async () => {
    process.env.COLMENA_TEST_SECRET = 'redis://:hunter2@db';
    process.env.SOME_SERVER_TOKEN = 'token-123';
    try {
      const variables = async (inheritEnv: boolean): Promise<Map<string, string>> => {
        const method = new ExecutableMethod({ command: ['env'], env: { MY_INPUT: 'on' }, inheritEnv });
        const { value } = await method.execute([], {});
        return new Map(value.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      };
      const base = await variables(false);
      assert.equal(base.get('MY_INPUT'), 'on');
      assert.equal(base.get('PATH'), process.env.PATH);
      assert.equal(base.has('SOME_SERVER_TOKEN'), false, 'the server\'s other variables stay out by default');
      assert.equal(base.has('COLMENA_TEST_SECRET'), false);
      assert.match(base.get('COLMENA_TASK_TOKEN') ?? '', /^[0-9a-f]{24}$/, 'the kill sweep\'s marker is set');
      const inherited = await variables(true);
      assert.equal(inherited.get('SOME_SERVER_TOKEN'), 'token-123');
      assert.equal(inherited.has('COLMENA_TEST_SECRET'), false, 'COLMENA_* never passes, even inherited');
    } finally {
      delete process.env.COLMENA_TEST_SECRET;
      delete process.env.SOME_SERVER_TOKEN;
    }
  });

  it('is refused on the threads executor when the server is built, naming the executors that run it', async () => {
    const methods = { sleep: moduleMethod(new URL('../hpc/fixtures/launches.ts', import.meta.url), 'setsidSleep', { executor: 'threads' }) };
    const queues = new LocalQueues();
    const server = new LocalTaskServer(queues, { methods });
    try {
      await assert.rejects(
        (async () => {
          server.start();
          await server.join();
        })(),
        (error: unknown) => /threads/.test((error as Error).message) && /inline|processes/.test((error as Error).message),
      );
    } finally {
      await queues.sendKillSignal().catch(() => {});
      await queues.close();
    }
  });

  it('launches an MPI program with the rank count each task asks for', async () => {
    const methods = {
      ranks: inlineMethod(new ExecutableMethod<[], string>({ command: [programs.mpiRanks], mpi: MPI_LAUNCH })),
    };
    const queues = new LocalQueues<MethodsOf<typeof methods>>();
    const server = new LocalTaskServer(queues, { methods }).start();
    try {
      await queues.sendInputs('ranks', [], { resources: { cpuProcesses: 2 } });
      const result = await queues.getResult('default', { timeoutMs: 60_000 });
      assert.equal(result.success, true, result.failureInfo?.message);
      const lines = String(result.value).trim().split('\n').sort();
      assert.deepEqual(lines, ['rank 0 of 2', 'rank 1 of 2']);
      assert.ok(result.time.additional.exec_execution! > 0);
    } finally {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    }
  });
});
