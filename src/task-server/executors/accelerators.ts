/**
 * Pinning worker processes to accelerators, the way Parsl's `available_accelerators` does: each
 * entry of the `accelerators` option is the device set of one worker process, exported to it at
 * spawn (CUDA_VISIBLE_DEVICES and the ROCm / Level Zero equivalents), since a GPU runtime reads
 * those variables once, when it starts. Used by the processes executor and `colmena worker`.
 */
import { InvalidArgumentError } from '../../common/errors.js';
import type { TaskPayload } from '../../methods/envelope.js';

/** A device id as CUDA_VISIBLE_DEVICES takes it: an index, a UUID (`GPU-…`, `MIG-…`), a tile (`0.1`). */
const DEVICE_ID = /^[A-Za-z0-9_.:-]{1,100}$/;

/**
 * The device ids of each entry (`'0'` → `['0']`, `'0,1'` → `['0', '1']`), checked: no empty entry,
 * no id outside {@link DEVICE_ID}, no id in two entries (two processes would share a device).
 */
export function acceleratorGroups(accelerators: readonly string[], owner: string): string[][] {
  if (!Array.isArray(accelerators) || accelerators.length === 0) {
    throw new InvalidArgumentError(`${owner}: accelerators must be a non-empty array of device ids, one entry per worker process (e.g. ['0', '1', '2', '3']), got ${JSON.stringify(accelerators)}`);
  }
  const seen = new Set<string>();
  return accelerators.map((entry) => {
    const ids = typeof entry === 'string' ? entry.split(',').map((id) => id.trim()) : [];
    for (const id of ids) {
      if (!DEVICE_ID.test(id)) {
        throw new InvalidArgumentError(`${owner}: accelerators entry ${JSON.stringify(entry)} is not a device id or a comma-separated list of them (e.g. '0' or '0,1')`);
      }
      if (seen.has(id)) throw new InvalidArgumentError(`${owner}: device '${id}' is listed twice in accelerators; each device belongs to one worker process`);
      seen.add(id);
    }
    if (ids.length === 0) throw new InvalidArgumentError(`${owner}: accelerators entries must be device ids, got ${JSON.stringify(entry)}`);
    return ids;
  });
}

/** Devices a task asks for on its one process: `gpusPerRank × cpuProcesses` (0 when it gave no resources). */
export function devicesAsked(payload: TaskPayload): number {
  const resources = payload.resources;
  if (!resources) return 0;
  return (resources.gpusPerRank ?? 0) * resources.cpuProcesses;
}

/**
 * Why a task asking for `asked` devices can never run on an executor whose processes hold at most
 * `most` each, or null when it can.
 */
export function unfitDevices(method: string, asked: number, most: number, executor: string): Error | null {
  if (asked <= most) return null;
  const has =
    most === 0
      ? `the processes of '${executor}' have no accelerators: declare them with the accelerators option (e.g. accelerators: ['0', '1']) or --accelerators for colmena worker`
      : `each process of '${executor}' is pinned to at most ${most} (its accelerators entry): lower gpusPerRank, or give entries that hold more ids (e.g. '0,1')`;
  return new InvalidArgumentError(`Task '${method}' asks for ${asked} accelerator${asked === 1 ? '' : 's'} (gpusPerRank × cpuProcesses), but ${has}`);
}

/**
 * Why a task asking for accelerators cannot run on an executor that shares one process (inline,
 * threads): one environment for all its tasks, so nothing can be pinned. Null when it asks for none.
 */
export function unpinnable(payload: TaskPayload, executor: string): Error | null {
  const asked = devicesAsked(payload);
  if (asked === 0) return null;
  return new InvalidArgumentError(
    `Task '${payload.method}' asks for ${asked} accelerator${asked === 1 ? '' : 's'} (gpusPerRank × cpuProcesses), but '${executor}' runs its tasks in one ` +
      `process and cannot pin devices: run the method on a ProcessesExecutor with accelerators (or colmena worker --accelerators), ` +
      `or an AllocationExecutor with gpusPerNode for executables`,
  );
}
