/**
 * The environment an executable starts with. By default it is a documented base, not the task
 * server's whole environment: the server may hold secrets (Redis URLs with passwords, tokens) that a
 * simulation has no business seeing.
 *
 * Base: the variables below, plus every variable whose name starts with a prefix below (what
 * launchers, batch schedulers and accelerator runtimes need to work inside an allocation).
 * `COLMENA_*` variables are never passed, even with `inheritEnv`, except the process markers the
 * kill sweep sets itself.
 */
export const BASE_ENV_VARIABLES: readonly string[] = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TERM',
  'LD_LIBRARY_PATH', 'MODULEPATH', 'LOADEDMODULES', 'HOSTNAME',
];
export const BASE_ENV_PREFIXES: readonly string[] = [
  'LC_', 'SLURM_', 'PBS_', 'PALS_', 'PMI_', 'PMIX_', 'OMPI_', 'MPICH_', 'I_MPI_', 'CRAY_', 'OMP_',
];

const NEVER_PREFIX = 'COLMENA_';

export interface LaunchEnvironmentOptions {
  /** Pass the whole environment of the task server (still without `COLMENA_*`). @default false */
  inheritEnv?: boolean;
  /** Variables set on top (they win). */
  env?: Record<string, string>;
}

/** Build the environment for one launch: base (or inherited), then `env`, then `extra` (markers, devices). */
export function launchEnvironment(
  parent: NodeJS.ProcessEnv,
  options: LaunchEnvironmentOptions,
  extra: Record<string, string> = {},
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined || name.startsWith(NEVER_PREFIX)) continue;
    if (options.inheritEnv || BASE_ENV_VARIABLES.includes(name) || BASE_ENV_PREFIXES.some((prefix) => name.startsWith(prefix))) {
      result[name] = value;
    }
  }
  return { ...result, ...options.env, ...extra };
}
