import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvalidArgumentError } from '../../common/errors.js';
import { childLogger } from '../../common/logging.js';

const run = promisify(execFile);

export interface SlurmProviderOptions {
  /** What each block runs on each of its nodes (through `srun --ntasks-per-node=1`), e.g. a `colmena worker` command line. */
  command: readonly string[];
  /** Tasks waiting or running: the provider keeps `ceil(demand / tasksPerBlock)` blocks. */
  demand: () => number | Promise<number>;
  /** Tasks one block serves at once. @default 1 */
  tasksPerBlock?: number;
  /** Nodes per batch job. @default 1 */
  nodesPerBlock?: number;
  /** @default 0 */
  minBlocks?: number;
  /** @default 1 */
  maxBlocks?: number;
  /** Slurm `--time` of each job. @default '00:30:00' */
  walltime?: string;
  /** More `sbatch` options, e.g. `['--partition=debug', '--account=abc']`. */
  sbatchArgs?: readonly string[];
  /** A surplus block is cancelled only after demand has stayed below it this long. @default 0 */
  idleMs?: number;
  /** How often squeue and the demand are checked (Slurm has no events to wait on). @default 1000 */
  pollMs?: number;
  /** Environment for sbatch/squeue/scancel (e.g. SLURM_CONF). @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** One batch job the provider submitted. */
export interface SlurmBlock {
  jobId: string;
  /** squeue's state: PENDING, RUNNING, … */
  state: string;
}

function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Gets worker nodes from Slurm, Parsl-style: keeps between `minBlocks` and `maxBlocks` batch jobs
 * by demand, cancels surplus ones (pending first) once idle, and cancels all on `close()`.
 * Each job runs `command` once per node with srun; give that command `--walltime` so a worker
 * drains before Slurm ends the job.
 */
export class SlurmProvider {
  readonly #options: Required<Omit<SlurmProviderOptions, 'env' | 'sbatchArgs'>> & { env: NodeJS.ProcessEnv; sbatchArgs: readonly string[] };
  #blocks: SlurmBlock[] = [];
  #timer: NodeJS.Timeout | undefined;
  #surplusSince: number | undefined;
  #ticking: Promise<void> = Promise.resolve();
  #dir: string | undefined;
  #closed = false;
  #lastProblem: string | null = null;
  readonly #logger = childLogger('providers.slurm');

  constructor(options: SlurmProviderOptions) {
    if (!Array.isArray(options.command) || options.command.length === 0) {
      throw new InvalidArgumentError('SlurmProvider needs `command`: the worker command line each block runs, e.g. ["npx", "colmena", "worker", …]');
    }
    if (typeof options.demand !== 'function') throw new InvalidArgumentError('SlurmProvider needs `demand`: a function returning tasks waiting or running');
    const resolved = {
      command: options.command,
      demand: options.demand,
      tasksPerBlock: options.tasksPerBlock ?? 1,
      nodesPerBlock: options.nodesPerBlock ?? 1,
      minBlocks: options.minBlocks ?? 0,
      maxBlocks: options.maxBlocks ?? 1,
      walltime: options.walltime ?? '00:30:00',
      sbatchArgs: options.sbatchArgs ?? [],
      idleMs: options.idleMs ?? 0,
      pollMs: options.pollMs ?? 1000,
      env: options.env ?? process.env,
    };
    for (const name of ['tasksPerBlock', 'nodesPerBlock', 'pollMs'] as const) {
      if (!Number.isInteger(resolved[name]) || resolved[name] < 1) throw new InvalidArgumentError(`SlurmProvider.${name} must be a positive integer, got ${String(resolved[name])}`);
    }
    if (!Number.isInteger(resolved.minBlocks) || resolved.minBlocks < 0 || !Number.isInteger(resolved.maxBlocks) || resolved.maxBlocks < resolved.minBlocks) {
      throw new InvalidArgumentError(`SlurmProvider needs integers 0 ≤ minBlocks ≤ maxBlocks, got ${resolved.minBlocks} and ${resolved.maxBlocks}`);
    }
    this.#options = resolved;
  }

  /** The jobs it holds now (as of the last check). */
  get blocks(): readonly SlurmBlock[] {
    return this.#blocks;
  }

  start(): this {
    if (this.#timer || this.#closed) return this;
    const tick = (): void => {
      this.#ticking = this.#tick().catch((error: unknown) => this.#report(error)).finally(() => {
        if (!this.#closed) this.#timer = setTimeout(tick, this.#options.pollMs);
      });
    };
    tick();
    return this;
  }

  /** One check: forget ended jobs, then submit or cancel toward the demand. */
  async #tick(): Promise<void> {
    await this.#refresh();
    const demand = await this.#options.demand();
    const { minBlocks, maxBlocks, tasksPerBlock } = this.#options;
    const wanted = Math.min(maxBlocks, Math.max(minBlocks, Math.ceil(demand / tasksPerBlock)));
    if (this.#blocks.length < wanted) {
      this.#surplusSince = undefined;
      for (let i = this.#blocks.length; i < wanted && !this.#closed; i++) await this.#submit();
    } else if (this.#blocks.length > wanted) {
      this.#surplusSince ??= Date.now();
      if (Date.now() - this.#surplusSince >= this.#options.idleMs) {
        // Pending jobs first: they hold no node and run no task.
        const order = [...this.#blocks].sort((a, b) => Number(b.state === 'PENDING') - Number(a.state === 'PENDING'));
        const surplus = order.slice(0, this.#blocks.length - wanted);
        await this.#cancel(surplus.map((block) => block.jobId));
        this.#surplusSince = undefined;
      }
    } else this.#surplusSince = undefined;
  }

  /**
   * A failed check is logged once per distinct message (it is tried again every `pollMs`); the
   * blocks are kept as they were, so a Slurm hiccup neither leaks jobs nor submits twice.
   */
  #report(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (message === this.#lastProblem) return;
    this.#lastProblem = message;
    this.#logger.warn({ err: error, blocks: this.#blocks.length }, `Slurm provider: ${message}; trying again every ${this.#options.pollMs} ms`);
  }

  async #refresh(): Promise<void> {
    if (this.#blocks.length === 0) return;
    const { stdout } = await run('squeue', ['-h', '-j', this.#blocks.map((b) => b.jobId).join(','), '-o', '%i %T'], { env: this.#options.env }).catch(
      (error: { stderr?: string; message?: string }) => {
        // squeue fails this way when every listed job has left its memory: all ended. Any other
        // failure (controller down, bad config) says nothing about the jobs: keep them.
        if (/invalid job id/i.test(error.stderr ?? '')) return { stdout: '' };
        throw new Error(`squeue failed (${(error.stderr ?? error.message ?? '').trim() || 'no message'}); keeping the ${this.#blocks.length} block(s) as they were`);
      },
    );
    this.#lastProblem = null;
    const states = new Map(stdout.split('\n').filter(Boolean).map((line) => line.trim().split(/\s+/) as [string, string]));
    this.#blocks = this.#blocks
      .map((block) => ({ ...block, state: states.get(block.jobId) ?? 'ENDED' }))
      .filter((block) => !['ENDED', 'COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'OUT_OF_MEMORY'].includes(block.state));
  }

  async #submit(): Promise<void> {
    this.#dir ??= await mkdtemp(join(tmpdir(), 'colmena-slurm-blocks-'));
    const script = join(this.#dir, 'block.sh');
    await writeFile(script, `#!/bin/bash\nexec srun --ntasks-per-node=1 ${this.#options.command.map(quote).join(' ')}\n`, { mode: 0o700 });
    const args = ['--parsable', `--nodes=${this.#options.nodesPerBlock}`, `--time=${this.#options.walltime}`, '--job-name=colmena-block', `--chdir=${this.#dir}`, ...this.#options.sbatchArgs, script];
    const { stdout } = await run('sbatch', args, { env: this.#options.env }).catch((error: { stderr?: string; message?: string }) => {
      throw new Error(`sbatch failed: ${(error.stderr ?? error.message ?? '').trim() || 'no message'} (check sbatchArgs, walltime and nodesPerBlock)`);
    });
    const jobId = stdout.trim().split(';')[0]!;
    this.#blocks.push({ jobId, state: 'PENDING' });
  }

  async #cancel(jobIds: string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await run('scancel', jobIds, { env: this.#options.env });
    this.#blocks = this.#blocks.filter((block) => !jobIds.includes(block.jobId));
  }

  /** Stop scaling and cancel every job it submitted. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#ticking;
    await this.#cancel(this.#blocks.map((block) => block.jobId)).catch(() => {});
    // Cancelled jobs may still be writing their slurm-<id>.out for a moment.
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }).catch(() => {});
  }
}
