import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ColmenaError, InvalidArgumentError } from '../common/errors.js';
import type { ResourceRequirementsInit } from '../models/resources.js';
import { ResourceRequirements } from '../models/resources.js';
import type { StopSignal } from '../common/stop-signal.js';

/** Marks executable methods so a worker recognises them even when loaded as another module copy. */
export const EXECUTABLE_BRAND = Symbol.for('colmena.ExecutableMethod');

export interface PreparedRun {
  /** Arguments appended to the command line. @default [] */
  args?: readonly string[];
  /** Written to the program's standard input. */
  stdin?: string | Uint8Array;
}

export interface ExecutableMethodOptions<Args extends unknown[], Value> {
  /** The program and its fixed arguments, e.g. `['./simulate', '--fast']`. Never run through a shell. */
  command: readonly string[];
  /**
   * Launch through MPI: a template put in front of `command`, filled from the task's resources.
   * `true` means `mpirun -np {total_ranks}`. Placeholders: `{node_count}`, `{cpu_processes}`,
   * `{cpu_threads}`, `{total_ranks}`.
   * @example ['mpirun', '--allow-run-as-root', '--oversubscribe', '-np', '{total_ranks}']
   */
  mpi?: boolean | readonly string[];
  /** Turn the task's arguments into command-line arguments and standard input. @default no extra arguments */
  preprocess?(runDir: string, args: Args, kwargs: Record<string, unknown>): PreparedRun | Promise<PreparedRun>;
  /** Read the outcome from the run directory. @default the text of `colmena.stdout` */
  postprocess?(runDir: string): Value | Promise<Value>;
  /** Keep the run directory after the task (for debugging). @default false */
  keepRunDir?: boolean;
  /** Parent of the run directories. @default the system's temporary directory */
  runDirParent?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Bytes of standard error quoted in a failure. @default 2000 */
  stderrTailBytes?: number;
}

/** An executable that exited badly: its exit code or signal and the end of its standard error. */
export class ExecutableFailedError extends ColmenaError {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderrTail: string;
  constructor(command: readonly string[], exitCode: number | null, signal: string | null, stderrTail: string) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    super('EXECUTABLE_FAILED', `${command.join(' ')} ${how}${stderrTail ? `; end of stderr:\n${stderrTail}` : ''}`);
    this.exitCode = exitCode;
    this.signal = signal;
    this.stderrTail = stderrTail;
  }
}

export interface ExecutableOutcome<Value> {
  value: Value;
  /** Seconds spent in each phase, for `time.additional`. */
  additional: { exec_preprocess: number; exec_execution: number; exec_postprocess: number };
}

const PLACEHOLDER = /\{([^{}]*)\}/g;
const DEFAULT_MPI = ['mpirun', '-np', '{total_ranks}'];

/** Fill `{node_count}`-style placeholders; an unknown one is an error before anything runs. */
export function fillLaunchTemplate(template: readonly string[], resources: ResourceRequirements): string[] {
  const values: Record<string, number> = {
    node_count: resources.nodeCount,
    cpu_processes: resources.cpuProcesses,
    cpu_threads: resources.cpuThreads,
    total_ranks: resources.totalRanks,
  };
  return template.map((part) =>
    part.replace(PLACEHOLDER, (_match, name: string) => {
      const value = values[name];
      if (value === undefined) {
        throw new ColmenaError(
          'INVALID_ARGUMENT',
          `Unknown placeholder {${name}} in MPI launch template ${JSON.stringify(template)}. Known: ${Object.keys(values).map((k) => `{${k}}`).join(', ')}`,
        );
      }
      return String(value);
    }),
  );
}

/**
 * A method that runs an external program: `preprocess` → execute in a fresh run directory →
 * `postprocess`. The program is spawned without a shell (arguments pass through literally), in its
 * own process group so a timeout or cancellation kills it and everything it started. Its output
 * goes to `colmena.stdout` and `colmena.stderr` in the run directory.
 *
 * Export an instance from a module and serve it with `moduleMethod(url, 'name')`, or pass it to
 * `inlineMethod` (spawning does not block the event loop).
 */
export class ExecutableMethod<Args extends unknown[] = unknown[], Value = string> {
  readonly [EXECUTABLE_BRAND] = true;
  readonly options: ExecutableMethodOptions<Args, Value>;
  /** Phantom member carrying the call signature for typed queues; never set. */
  declare readonly signature?: (...args: Args) => Promise<Value>;

  constructor(options: ExecutableMethodOptions<Args, Value>) {
    if (!Array.isArray(options.command) || options.command.length === 0 || options.command.some((p) => typeof p !== 'string')) {
      throw new InvalidArgumentError('ExecutableMethod needs `command`: a non-empty array of strings, e.g. ["./simulate"]');
    }
    if (Array.isArray(options.mpi)) fillLaunchTemplate(options.mpi, new ResourceRequirements());
    this.options = options;
  }

  /** The full command line for a task with these resources. */
  commandLine(resources: ResourceRequirementsInit = {}, extraArgs: readonly string[] = []): string[] {
    const { mpi, command } = this.options;
    const launch = mpi ? fillLaunchTemplate(mpi === true ? DEFAULT_MPI : mpi, new ResourceRequirements(resources)) : [];
    return [...launch, ...command, ...extraArgs];
  }

  async execute(
    args: Args,
    kwargs: Record<string, unknown>,
    context: { resources?: ResourceRequirementsInit; signal?: StopSignal } = {},
  ): Promise<ExecutableOutcome<Value>> {
    const options = this.options;
    const runDir = await mkdtemp(join(options.runDirParent ?? tmpdir(), 'colmena-run-'));
    try {
      let mark = performance.now();
      const prepared = (await options.preprocess?.(runDir, args, kwargs)) ?? {};
      const commandLine = this.commandLine(context.resources, prepared.args ?? []);
      const preprocessSeconds = (performance.now() - mark) / 1000;

      mark = performance.now();
      await runProgram(commandLine, runDir, prepared.stdin, options, context.signal);
      const executionSeconds = (performance.now() - mark) / 1000;

      mark = performance.now();
      const value = options.postprocess
        ? await options.postprocess(runDir)
        : ((await readFile(join(runDir, 'colmena.stdout'), 'utf8')) as Value);
      return {
        value,
        additional: {
          exec_preprocess: preprocessSeconds,
          exec_execution: executionSeconds,
          exec_postprocess: (performance.now() - mark) / 1000,
        },
      };
    } finally {
      if (!options.keepRunDir) await rm(runDir, { recursive: true, force: true });
    }
  }
}

export function isExecutableMethod(value: unknown): value is ExecutableMethod<never, unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[EXECUTABLE_BRAND] === true;
}

async function runProgram(
  commandLine: readonly string[],
  runDir: string,
  stdin: string | Uint8Array | undefined,
  options: ExecutableMethodOptions<never, unknown>,
  signal: StopSignal | undefined,
): Promise<void> {
  signal?.throwIfAborted();
  const stdout = createWriteStream(join(runDir, 'colmena.stdout'));
  const stderr = createWriteStream(join(runDir, 'colmena.stderr'));
  await Promise.all([once(stdout, 'open'), once(stderr, 'open')]);
  const child = spawn(commandLine[0]!, commandLine.slice(1), {
    cwd: runDir,
    shell: false,
    // Its own process group, so killing the group also stops what it launched (MPI ranks).
    detached: true,
    stdio: [stdin === undefined ? 'ignore' : 'pipe', stdout, stderr],
    env: options.env ? { ...process.env, ...options.env } : process.env,
  });
  // Kill the whole group, even after the leader has exited: a program may leave children behind.
  const killGroup = (): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is already gone.
    }
  };
  signal?.addEventListener('abort', killGroup, { once: true });
  // Our own exit (e.g. the worker being replaced) must not leave the program running.
  process.once('exit', killGroup);
  try {
    if (stdin !== undefined) child.stdin!.end(stdin);
    const [code, killedBy] = (await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new ColmenaError('INVALID_ARGUMENT', `Cannot run '${commandLine[0]}': no such program (in ${runDir}, PATH=${process.env.PATH})`);
      throw error;
    })) as [number | null, NodeJS.Signals | null];
    signal?.throwIfAborted();
    if (code !== 0) {
      stderr.end();
      await once(stderr, 'close');
      const text = await readFile(join(runDir, 'colmena.stderr'), 'utf8').catch(() => '');
      const tail = text.slice(-(options.stderrTailBytes ?? 2000));
      throw new ExecutableFailedError(commandLine, code, killedBy, tail);
    }
  } finally {
    signal?.removeEventListener('abort', killGroup);
    process.removeListener('exit', killGroup);
    killGroup();
    stdout.end();
    stderr.end();
  }
}
