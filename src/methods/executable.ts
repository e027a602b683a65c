import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { secondsSince } from '../models/clock.js';
import { ColmenaError, InvalidArgumentError } from '../common/errors.js';
import type { ResourceRequirementsInit } from '../models/resources.js';
import { ResourceRequirements } from '../models/resources.js';
import type { StopSignal } from '../common/stop-signal.js';
import { killOnExit, signalGroup, sweepLaunch } from './launch-kill.js';
import { PreparedLaunch, takePreparedLaunch } from './launch-prepared.js';
import { acceleratorEnvironment, currentPlacement, type Placement } from './launch-placement.js';
import { checkLaunchTemplate, fillTemplate, hostfileText, type LaunchTemplate, templateWords } from './launch-template.js';

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
   * Launch through MPI: a template put in front of `command`, filled from the task's resources
   * and, on an allocation executor, its placement. `true` means `mpirun -np {total_ranks}`; a
   * string is split on whitespace (no shell), as Colmena's `mpi_command_string`. Placeholders:
   * `{node_count}`, `{cpu_processes}` (= `{ranks_per_node}`), `{cpu_threads}`, `{total_ranks}`;
   * with a placement also `{hosts}` (comma-separated), `{hosts_slots}` (`n1:2,n2:2`),
   * `{hostfile}` (`colmena.hostfile`, written into the run directory when the template names it),
   * `{gpus_per_node}`, `{gpu_ids}`.
   * Ready-made: `LAUNCHERS.mpirun`, `.mpiexec`, `.srun`, `.aprun`.
   * @example ['mpirun', '--allow-run-as-root', '--oversubscribe', '-np', '{total_ranks}']
   */
  mpi?: boolean | LaunchTemplate;
  /** Turn the task's arguments into command-line arguments and standard input. @default no extra arguments */
  preprocess?(runDir: string, args: Args, kwargs: Record<string, unknown>): PreparedRun | Promise<PreparedRun>;
  /** Read the outcome from the run directory. @default the text of `colmena.stdout` */
  postprocess?(runDir: string): Value | Promise<Value>;
  /** Keep the run directory after the task (for debugging). @default false */
  keepRunDir?: boolean;
  /**
   * Parent of the run directories. @default the system's temporary directory; on a processes
   * executor, a scratch folder of the child process removed with it, so a child killed mid-task
   * leaves no run directory behind (unless `keepRunDir`)
   */
  runDirParent?: string;
  /**
   * Extra environment variables, on top of the base environment (see `BASE_ENV_VARIABLES` and
   * `BASE_ENV_PREFIXES` in launch-env.ts: PATH, HOME, locale, and the SLURM_/PBS_/PMI_/OMPI_…
   * families).
   */
  env?: Record<string, string>;
  /** Start from the task server's whole environment instead of the base; `COLMENA_*` still never passes. @default false */
  inheritEnv?: boolean;
  /**
   * On timeout or cancel: ms between SIGTERM to the launcher (so `mpirun`/`srun` can tear down
   * their ranks and remote daemons) and SIGKILL of its group and every process it started. @default 2000
   */
  killGraceMs?: number;
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

const DEFAULT_MPI = ['mpirun', '-np', '{total_ranks}'];

/** Fill `{node_count}`-style placeholders; an unknown one is an error before anything runs. */
export const fillLaunchTemplate = fillTemplate;

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
    if (options.mpi !== undefined && typeof options.mpi !== 'boolean') checkLaunchTemplate(options.mpi);
    if (options.killGraceMs !== undefined && !(Number.isFinite(options.killGraceMs) && options.killGraceMs >= 0)) {
      throw new InvalidArgumentError(`ExecutableMethod.killGraceMs must be a non-negative number of ms, got ${String(options.killGraceMs)}`);
    }
    this.options = options;
    this.#writesHostfile = typeof options.mpi !== 'boolean' && options.mpi !== undefined && templateWords(options.mpi).some((word) => word.includes('{hostfile}'));
  }

  /** Only a template that names `{hostfile}` gets one written (a file write less before the launch). */
  readonly #writesHostfile: boolean;

  /** The full command line for a task with these resources. */
  commandLine(resources: ResourceRequirementsInit = {}, extraArgs: readonly string[] = [], placement?: Placement, hostfile?: string): string[] {
    const { mpi, command } = this.options;
    const launch = mpi ? fillTemplate(mpi === true ? DEFAULT_MPI : mpi, new ResourceRequirements(resources), placement, hostfile) : [];
    return [...launch, ...command, ...extraArgs];
  }

  async execute(
    args: Args,
    kwargs: Record<string, unknown>,
    context: { resources?: ResourceRequirementsInit; signal?: StopSignal } = {},
  ): Promise<ExecutableOutcome<Value>> {
    const options = this.options;
    // Made ahead by an allocation executor while the task waited for nodes, or made now.
    const launch = takePreparedLaunch(this) ?? this.prepareLaunch();
    const runDir = launch.runDir;
    try {
      let mark = performance.now();
      const prepared = (await options.preprocess?.(runDir, args, kwargs)) ?? {};
      const placement = currentPlacement();
      let hostfile: string | undefined;
      if (placement && this.#writesHostfile) {
        hostfile = join(runDir, 'colmena.hostfile');
        writeFileSync(hostfile, hostfileText(placement));
      }
      const commandLine = this.commandLine(context.resources, prepared.args ?? [], placement, hostfile);
      const preprocessSeconds = secondsSince(mark);

      mark = performance.now();
      await runProgram(commandLine, launch, prepared.stdin, options, context.signal, placement);
      const executionSeconds = secondsSince(mark);

      mark = performance.now();
      const value = options.postprocess
        ? await options.postprocess(runDir)
        : ((await readFile(join(runDir, 'colmena.stdout'), 'utf8')) as Value);
      return {
        value,
        additional: {
          exec_preprocess: preprocessSeconds,
          exec_execution: executionSeconds,
          exec_postprocess: secondsSince(mark),
        },
      };
    } finally {
      launch.closeFiles();
      if (!options.keepRunDir) await rm(runDir, { recursive: true, force: true });
    }
  }

  /**
   * The part of a launch that needs neither the task's arguments nor its nodes (run directory,
   * output files, process token, environment); {@link execute} makes it itself when nobody did.
   */
  prepareLaunch(): PreparedLaunch {
    return new PreparedLaunch(this, this.options);
  }
}

export function isExecutableMethod(value: unknown): value is ExecutableMethod<never, unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[EXECUTABLE_BRAND] === true;
}

async function runProgram(
  commandLine: readonly string[],
  launch: PreparedLaunch,
  stdin: string | Uint8Array | undefined,
  options: ExecutableMethodOptions<never, unknown>,
  signal: StopSignal | undefined,
  placement: Placement | undefined,
): Promise<void> {
  signal?.throwIfAborted();
  const { runDir, token, origin } = launch;
  const gpuIds = placement?.gpuIds ?? [];
  const env = gpuIds.length > 0 ? { ...launch.env, ...acceleratorEnvironment(gpuIds) } : launch.env;
  let child: ChildProcess;
  const spawnCalled = performance.now();
  try {
    child = spawn(commandLine[0]!, commandLine.slice(1), {
      cwd: runDir,
      shell: false,
      // Its own process group, so killing the group also stops what it launched (MPI ranks).
      detached: true,
      // The program writes its output files itself (no stream through this process).
      stdio: [stdin === undefined ? 'ignore' : 'pipe', launch.stdoutFd, launch.stderrFd],
      env,
    });
  } finally {
    launch.closeFiles();
  }
  // spawn() returns once the launcher has exec'd: it exists from here. Node emits `spawn` on the
  // next tick, which waits for the microtasks in hand (e.g. the next task's launch), so report both.
  const spawnReturned = performance.now();
  const pid = child.pid;
  if (pid !== undefined) child.once('spawn', () => placement?.launched?.(pid, { spawnCalled, spawnReturned }));
  const graceMs = options.killGraceMs ?? 2000;
  let exited = false;
  let graceTimer: NodeJS.Timeout | undefined;
  // Launcher first, gently: mpirun and srun forward SIGTERM to their ranks and remote daemons.
  // Whatever is left after the grace is killed by the group kill and the sweep below.
  const terminate = (): void => {
    if (exited || pid === undefined) return;
    try {
      child.kill('SIGTERM');
    } catch {
      // already gone
    }
    graceTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
  };
  signal?.addEventListener('abort', terminate, { once: true });
  // Our own exit (e.g. the worker being replaced) must not leave the program running.
  const forgetOnExit = pid === undefined ? undefined : killOnExit(token, pid);
  try {
    if (stdin !== undefined) child.stdin!.end(stdin);
    const [code, killedBy] = (await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new ColmenaError('INVALID_ARGUMENT', `Cannot run '${commandLine[0]}': no such program (in ${runDir}, PATH=${process.env.PATH})`);
      throw error;
    })) as [number | null, NodeJS.Signals | null];
    exited = true;
    signal?.throwIfAborted();
    if (code !== 0) {
      const text = await readFile(join(runDir, 'colmena.stderr'), 'utf8').catch(() => '');
      const tail = text.slice(-(options.stderrTailBytes ?? 2000));
      throw new ExecutableFailedError(commandLine, code, killedBy, tail);
    }
  } finally {
    exited = true;
    if (graceTimer) clearTimeout(graceTimer);
    signal?.removeEventListener('abort', terminate);
    placement?.launcherExited?.();
    // However the launch ended, nothing it started outlives it: its group, then every marked
    // process (daemonized, setsid, reparented to PID 1). Only then do its nodes go back, in the
    // same tick when the sweep can look at just the processes started since the launch.
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
    await sweepLaunch(token, pid, origin);
    forgetOnExit?.();
    placement?.release?.();
  }
}
