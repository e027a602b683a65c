import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { promisify } from 'node:util';
import { InvalidArgumentError } from '../../../common/errors.js';

const run = promisify(execFile);

/** One node a task server may place tasks on. */
export interface AllocationNode {
  /** Host name as the launcher wants it (`--host`, `--nodelist`, `-hosts`). */
  name: string;
  /** Cores on the node. */
  cores: number;
  /** Accelerator ids on the node (what CUDA_VISIBLE_DEVICES takes), e.g. `['0', '1', '2', '3']`. */
  gpuIds: string[];
}

/** The nodes of a batch job (or a list you give), and where they came from. */
export interface Allocation {
  nodes: AllocationNode[];
  /** `slurm`, `pbs`, `hostfile`, `list` or `local`. */
  source: string;
}

export interface NodeShape {
  /** Cores per node, when the source does not say. @default this machine's available parallelism */
  coresPerNode?: number;
  /** Accelerators per node (ids `0`…`n-1`), when the source does not say. @default 0 */
  gpusPerNode?: number;
  /** Accelerator ids per node, when they are not `0`…`n-1`. Wins over `gpusPerNode`. */
  gpuIds?: string[];
}

function shapeNode(name: string, shape: NodeShape, cores?: number, gpus?: number): AllocationNode {
  const coreCount = cores ?? shape.coresPerNode ?? availableParallelism();
  if (!Number.isInteger(coreCount) || coreCount < 1) {
    throw new InvalidArgumentError(`Allocation coresPerNode must be a positive integer, got ${String(coreCount)} for node ${name}`);
  }
  const gpuCount = gpus ?? shape.gpusPerNode ?? 0;
  if (!Number.isInteger(gpuCount) || gpuCount < 0) {
    throw new InvalidArgumentError(`Allocation gpusPerNode must be a non-negative integer, got ${String(gpuCount)} for node ${name}`);
  }
  const gpuIds = shape.gpuIds ? [...shape.gpuIds] : Array.from({ length: gpuCount }, (_, i) => String(i));
  return { name, cores: coreCount, gpuIds };
}

/** An explicit list of host names, all of one shape. */
export function allocationFromList(names: readonly string[], shape: NodeShape = {}): Allocation {
  if (names.length === 0) throw new InvalidArgumentError('allocationFromList needs at least one host name');
  const unique = new Set(names);
  if (unique.size !== names.length) throw new InvalidArgumentError(`allocationFromList: host names repeat in ${JSON.stringify(names)}`);
  return { nodes: names.map((name) => shapeNode(name, shape)), source: 'list' };
}

/**
 * A hostfile: one host per line, optionally `slots=N` (Open MPI / MPICH) — or a host repeated
 * once per core, as PBS writes `$PBS_NODEFILE`. `#` starts a comment.
 */
export function allocationFromHostfileText(text: string, shape: NodeShape = {}, source = 'hostfile'): Allocation {
  const slots = new Map<string, number>();
  let explicitSlots = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [host, ...rest] = line.split(/\s+/);
    const slotWord = rest.find((word) => /^(slots|max_slots)=\d+$/.test(word));
    const count = slotWord ? Number(slotWord.split('=')[1]) : 1;
    if (slotWord) explicitSlots = true;
    slots.set(host!, (slots.get(host!) ?? 0) + count);
  }
  if (slots.size === 0) throw new InvalidArgumentError(`The ${source} lists no hosts`);
  const nodes = [...slots].map(([name, count]) =>
    // A single line without slots says nothing about cores: fall back to the shape.
    shapeNode(name, shape, explicitSlots || count > 1 ? count : shape.coresPerNode),
  );
  return { nodes, source };
}

export async function allocationFromHostfile(path: string, shape: NodeShape = {}): Promise<Allocation> {
  return allocationFromHostfileText(await readFile(path, 'utf8'), shape);
}

/** `4(x3),2` (SLURM_JOB_CPUS_PER_NODE) → `[4, 4, 4, 2]`. */
export function expandSlurmCounts(text: string): number[] {
  const counts: number[] = [];
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:\(x(\d+)\))?$/.exec(part.trim());
    if (!match) throw new InvalidArgumentError(`Cannot read the Slurm per-node count '${text}' (expected e.g. 4(x3),2)`);
    for (let i = 0; i < Number(match[2] ?? 1); i++) counts.push(Number(match[1]));
  }
  return counts;
}

/**
 * The nodes of the Slurm job this process runs in: `SLURM_JOB_NODELIST` expanded by
 * `scontrol show hostnames`, cores from `SLURM_JOB_CPUS_PER_NODE`, GPUs from `SLURM_GPUS_ON_NODE`
 * (Slurm sets it only with GRES) or the shape.
 */
export async function allocationFromSlurm(env: NodeJS.ProcessEnv = process.env, shape: NodeShape = {}): Promise<Allocation> {
  const list = env.SLURM_JOB_NODELIST ?? env.SLURM_NODELIST;
  if (!list) throw new InvalidArgumentError('allocationFromSlurm: SLURM_JOB_NODELIST is not set; run inside a Slurm job (sbatch or salloc)');
  const { stdout } = await run('scontrol', ['show', 'hostnames', list], { env });
  const names = stdout.split('\n').map((line) => line.trim()).filter(Boolean);
  const cores = env.SLURM_JOB_CPUS_PER_NODE ? expandSlurmCounts(env.SLURM_JOB_CPUS_PER_NODE) : [];
  const gpus = env.SLURM_GPUS_ON_NODE ? Number(env.SLURM_GPUS_ON_NODE) : undefined;
  return { nodes: names.map((name, i) => shapeNode(name, shape, shape.coresPerNode ?? cores[i], gpus)), source: 'slurm' };
}

/** The nodes of the PBS job this process runs in, from `$PBS_NODEFILE` (a host per core). */
export async function allocationFromPbs(env: NodeJS.ProcessEnv = process.env, shape: NodeShape = {}): Promise<Allocation> {
  if (!env.PBS_NODEFILE) throw new InvalidArgumentError('allocationFromPbs: PBS_NODEFILE is not set; run inside a PBS job (qsub)');
  return allocationFromHostfileText(await readFile(env.PBS_NODEFILE, 'utf8'), shape, 'pbs');
}

/** Slurm if in a Slurm job, else PBS if in a PBS job, else this machine alone. */
export async function discoverAllocation(env: NodeJS.ProcessEnv = process.env, shape: NodeShape = {}): Promise<Allocation> {
  if (env.SLURM_JOB_NODELIST ?? env.SLURM_NODELIST) return allocationFromSlurm(env, shape);
  if (env.PBS_NODEFILE) return allocationFromPbs(env, shape);
  return { nodes: [shapeNode(hostname(), shape)], source: 'local' };
}
