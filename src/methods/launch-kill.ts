import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';

/**
 * Every process a task starts carries this variable (inherited through fork/exec, `setsid`,
 * `nohup`, `mpirun`'s local ranks and `srun`'s steps on this host), so the task's processes can be
 * found in `/proc/<pid>/environ` even after they left the process group and were reparented to PID 1.
 */
export const TASK_TOKEN_VARIABLE = 'COLMENA_TASK_TOKEN';
/** Set on a `processes` executor's child: marks everything that child's tasks start. */
export const WORKER_TOKEN_VARIABLE = 'COLMENA_WORKER_TOKEN';

/** A fresh, unguessable marker value. */
export function newProcessToken(): string {
  return randomBytes(12).toString('hex');
}

function needle(variable: string, token: string): Buffer {
  // environ is NUL-separated; match a whole entry so one token is never a prefix of another.
  return Buffer.from(`\0${variable}=${token}\0`);
}

function marked(environ: Buffer, wanted: Buffer): boolean {
  // Prepend a NUL so the first entry matches like the others.
  return Buffer.concat([Buffer.from('\0'), environ]).includes(wanted);
}

/** PIDs of live processes (other than this one) whose environment holds `variable=token`. */
export async function findMarkedProcesses(variable: string, token: string): Promise<number[]> {
  const wanted = needle(variable, token);
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const found: number[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === process.pid) return;
      // ENOENT (already gone) and EACCES (not ours) both mean: nothing to do.
      const environ = await readFile(`/proc/${pid}/environ`).catch(() => null);
      if (environ && marked(environ, wanted)) found.push(pid);
    }),
  );
  return found;
}

function findMarkedProcessesSync(variable: string, token: string): number[] {
  const wanted = needle(variable, token);
  const found: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (marked(readFileSync(`/proc/${pid}/environ`), wanted)) found.push(pid);
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

function signalEach(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // ESRCH: already gone.
    }
  }
}

/** Signal a whole process group; a group that is gone is not an error. */
export function signalGroup(groupLeader: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-groupLeader, signal);
  } catch {
    // ESRCH
  }
}

/**
 * SIGKILL every marked process until none is left (a dying parent may fork once more, so sweep
 * until a scan comes back empty; bounded so a fork bomb cannot hold us forever). Zombies keep
 * their environ unreadable, so they do not count.
 */
export async function sweepMarkedProcesses(variable: string, token: string, rounds = 20): Promise<number> {
  let killed = 0;
  for (let round = 0; round < rounds; round++) {
    const pids = await findMarkedProcesses(variable, token);
    if (pids.length === 0) break;
    signalEach(pids, 'SIGKILL');
    killed += pids.length;
  }
  return killed;
}

/** The same sweep, synchronous, for `process.on('exit')` where nothing async can run. */
export function sweepMarkedProcessesSync(variable: string, token: string, rounds = 5): void {
  for (let round = 0; round < rounds; round++) {
    const pids = findMarkedProcessesSync(variable, token);
    if (pids.length === 0) return;
    signalEach(pids, 'SIGKILL');
  }
}
