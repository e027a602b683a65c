import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, mkdtempSync, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchEnvironment, type LaunchEnvironmentOptions } from './launch-env.js';
import { newProcessToken, pidOrigin, type PidOrigin, TASK_TOKEN_VARIABLE, WORKER_TOKEN_VARIABLE } from './launch-kill.js';

export interface PrepareLaunchOptions extends LaunchEnvironmentOptions {
  /** Parent of the run directory. @default the worker process's scratch folder, else the system's temporary directory */
  runDirParent?: string;
  /** A run directory that is kept is made in the system's temporary directory, never in a worker's scratch folder. */
  keepRunDir?: boolean;
}

/**
 * Set by a processes executor for each child: a scratch folder of that child's, which the executor
 * removes when the child exits. Run directories go there, so a child killed mid-task (an abort
 * past its grace, a crash) leaves none behind in the temporary directory.
 */
export const RUN_DIR_PARENT_VARIABLE = 'COLMENA_RUN_DIR_PARENT';

/**
 * What a launch needs that depends neither on the task's arguments nor on its nodes: a fresh run
 * directory with `colmena.stdout` and `colmena.stderr` open, the process token that marks
 * everything the launch starts, its environment, and where the pid sequence stood (for the
 * sweep). An allocation executor makes it while the task still waits for nodes, so that once they
 * are granted only the template fill and the spawn stand between them and the launcher.
 */
export class PreparedLaunch {
  readonly runDir: string;
  readonly stdoutFd: number;
  readonly stderrFd: number;
  readonly token: string;
  /** Base (or inherited) environment, the method's `env`, and the process markers. */
  readonly env: Record<string, string>;
  readonly origin: PidOrigin | undefined;
  /** Which method it was made for: only that method's launch takes it. */
  readonly owner: object;
  #taken = false;
  #filesOpen = true;

  /** Synchronous on purpose: a mkdir and two opens cost tens of µs; thread-pool round trips cost scheduling delays. */
  constructor(owner: object, options: PrepareLaunchOptions) {
    this.owner = owner;
    const scratch = options.keepRunDir ? undefined : process.env[RUN_DIR_PARENT_VARIABLE];
    this.runDir = mkdtempSync(join(options.runDirParent ?? scratch ?? tmpdir(), 'colmena-run-'));
    try {
      this.stdoutFd = openSync(join(this.runDir, 'colmena.stdout'), 'w');
      try {
        this.stderrFd = openSync(join(this.runDir, 'colmena.stderr'), 'w');
      } catch (error) {
        closeSync(this.stdoutFd);
        throw error;
      }
    } catch (error) {
      void rm(this.runDir, { recursive: true, force: true });
      throw error;
    }
    // Every process the launch starts inherits the token: the sweep finds them by it, even after
    // they called setsid or were reparented to PID 1.
    this.token = newProcessToken();
    const markers: Record<string, string> = { [TASK_TOKEN_VARIABLE]: this.token };
    const workerToken = process.env[WORKER_TOKEN_VARIABLE];
    if (workerToken) markers[WORKER_TOKEN_VARIABLE] = workerToken;
    this.env = launchEnvironment(process.env, options, markers);
    this.origin = pidOrigin();
  }

  /** Claim it for `owner`'s launch; undefined if it was made for another method or already claimed. */
  take(owner: object): this | undefined {
    if (this.#taken || owner !== this.owner) return undefined;
    this.#taken = true;
    return this;
  }

  /** Close our copies of the output files (the program holds its own once spawned). Idempotent. */
  closeFiles(): void {
    if (!this.#filesOpen) return;
    this.#filesOpen = false;
    closeSync(this.stdoutFd);
    closeSync(this.stderrFd);
  }

  /** Undo it if no launch claimed it (the task failed or was cancelled first); else nothing. */
  async discard(): Promise<void> {
    if (this.#taken) return;
    this.#taken = true;
    this.closeFiles();
    await rm(this.runDir, { recursive: true, force: true });
  }
}

const current = new AsyncLocalStorage<PreparedLaunch>();

/** Run `fn` with `prepared` waiting for the launch it was made for. */
export function runWithPreparedLaunch<T>(prepared: PreparedLaunch, fn: () => T): T {
  return current.run(prepared, fn);
}

/** The launch prepared for `owner` here, claimed (once); undefined when there is none. */
export function takePreparedLaunch(owner: object): PreparedLaunch | undefined {
  return current.getStore()?.take(owner);
}
