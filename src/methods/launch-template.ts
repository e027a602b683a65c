import { InvalidArgumentError } from '../common/errors.js';
import type { ResourceRequirements } from '../models/resources.js';
import type { Placement } from './launch-placement.js';

/**
 * A launch template: words put in front of the program, e.g. `['mpirun', '-np', '{total_ranks}']`,
 * or one string split on whitespace without a shell (Colmena's `mpi_command_string`).
 */
export type LaunchTemplate = string | readonly string[];

const PLACEHOLDER = /\{([^{}]*)\}/g;
const RESOURCE_PLACEHOLDERS = ['node_count', 'cpu_processes', 'cpu_threads', 'total_ranks', 'ranks_per_node'];
/** These need an allocation executor to have placed the task. */
const PLACEMENT_PLACEHOLDERS = ['hosts', 'hosts_slots', 'hostfile', 'gpus_per_node', 'gpu_ids'];

/**
 * Ready-made templates for the common launchers, filled from the task's resources and placement.
 * Open MPI run as root also needs `--allow-run-as-root`; add it to your own copy.
 */
export const LAUNCHERS = {
  /** Open MPI: one `host:slots` entry per placed node. */
  mpirun: ['mpirun', '-np', '{total_ranks}', '--host', '{hosts_slots}'],
  /** MPICH / Cray PALS `mpiexec`. */
  mpiexec: ['mpiexec', '-n', '{total_ranks}', '-ppn', '{ranks_per_node}', '-hosts', '{hosts}'],
  /** Slurm `srun` inside an allocation: a step on exactly the placed nodes. */
  srun: [
    'srun', '--nodes={node_count}', '--ntasks={total_ranks}', '--ntasks-per-node={ranks_per_node}',
    '--cpus-per-task={cpu_threads}', '--nodelist={hosts}', '--exclusive',
  ],
  /** Cray ALPS `aprun` (untested: no ALPS system here). */
  aprun: ['aprun', '-n', '{total_ranks}', '-N', '{ranks_per_node}', '-d', '{cpu_threads}', '-L', '{hosts}'],
} as const satisfies Record<string, readonly string[]>;

/** The template as words: a string is split on whitespace (no shell, no quoting). */
export function templateWords(template: LaunchTemplate, owner = 'ExecutableMethod.mpi'): readonly string[] {
  if (typeof template === 'string') return template.split(/\s+/).filter(Boolean);
  if (!Array.isArray(template) || template.some((word) => typeof word !== 'string')) {
    throw new InvalidArgumentError(`${owner} must be a string or an array of strings, got ${JSON.stringify(template)}`);
  }
  return template;
}

/** Refuse unknown placeholders before anything runs. */
export function checkLaunchTemplate(template: LaunchTemplate, owner = 'ExecutableMethod.mpi'): void {
  const known = [...RESOURCE_PLACEHOLDERS, ...PLACEMENT_PLACEHOLDERS];
  for (const word of templateWords(template, owner)) {
    for (const [, name] of word.matchAll(PLACEHOLDER)) {
      if (!known.includes(name!)) {
        throw new InvalidArgumentError(
          `Unknown placeholder {${name}} in MPI launch template ${JSON.stringify(template)} (${owner}). Known: ${known.map((k) => `{${k}}`).join(', ')}`,
        );
      }
    }
  }
}

/** Fill a template for one task. `hostfile` is the path of the hostfile written for this launch. */
export function fillTemplate(
  template: LaunchTemplate,
  resources: ResourceRequirements,
  placement?: Placement,
  hostfile?: string,
): string[] {
  checkLaunchTemplate(template);
  const values: Record<string, string | undefined> = {
    node_count: String(resources.nodeCount),
    cpu_processes: String(resources.cpuProcesses),
    cpu_threads: String(resources.cpuThreads),
    total_ranks: String(resources.totalRanks),
    ranks_per_node: String(resources.cpuProcesses),
    hosts: placement?.hosts.join(','),
    hosts_slots: placement?.hosts.map((host) => `${host}:${placement.ranksPerNode}`).join(','),
    hostfile,
    gpus_per_node: placement ? String(placement.gpuIds.length) : undefined,
    gpu_ids: placement?.gpuIds.join(','),
  };
  return templateWords(template).map((word) =>
    word.replace(PLACEHOLDER, (_match, name: string) => {
      const value = values[name];
      if (value === undefined) {
        throw new InvalidArgumentError(
          `Launch template placeholder {${name}} needs a placement: serve this method on an AllocationExecutor, which gives each task its nodes`,
        );
      }
      return value;
    }),
  );
}

/** An Open MPI / MPICH style hostfile: one line per node with its slots. */
export function hostfileText(placement: Placement): string {
  return placement.hosts.map((host) => `${host} slots=${placement.ranksPerNode}\n`).join('');
}
