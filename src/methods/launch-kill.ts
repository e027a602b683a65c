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

/**
 * Where the kernel's pid sequence stood just before a launch: every process the launch starts gets
 * a pid handed out after it, so its sweep can skip the processes that were there before (reading
 * `/proc/<pid>/environ` of every process costs milliseconds; the few started since, microseconds).
 */
export interface PidOrigin {
  /** `processes` of `/proc/stat`: pids handed out since boot (every fork and thread). */
  forks: number;
  /** Threads alive (from `/proc/loadavg`): bounds the pids in use that allocation skips over. */
  threads: number;
}

interface PidCursor extends PidOrigin {
  /** The last pid handed out in this pid namespace (from `/proc/loadavg`). */
  lastPid: number;
}

/** The kernel does not hand out pids below this after wrapping (RESERVED_PIDS). */
const RESERVED_PIDS = 300;
let pidMax: number | undefined;

function readPidCursor(): PidCursor | undefined {
  try {
    const forks = /^processes (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))?.[1];
    // "0.10 0.20 0.30 4/251 21974": running/total threads, then the last pid handed out.
    const load = /\d+\/(\d+) (\d+)/.exec(readFileSync('/proc/loadavg', 'latin1'));
    pidMax ??= Number(readFileSync('/proc/sys/kernel/pid_max', 'latin1'));
    if (forks === undefined || !load || !(pidMax > RESERVED_PIDS)) return undefined;
    return { forks: Number(forks), threads: Number(load[1]), lastPid: Number(load[2]) };
  } catch {
    return undefined; // no Linux /proc: the full sweep (which then finds nothing) is the answer
  }
}

/** Call before spawning a launcher (any moment before will do); undefined where `/proc` cannot say. */
export function pidOrigin(): PidOrigin | undefined {
  const cursor = readPidCursor();
  return cursor && { forks: cursor.forks, threads: cursor.threads };
}

/**
 * The pids a launch's processes can have: handed out after its launcher (`launcherPid`) and up to
 * the kernel's cursor now, a cyclic range since pids wrap at pid_max. Undefined when the cursor may
 * have gone all the way round since the origin (then any pid could be ours). The cursor moves at
 * most once per pid handed out plus once per pid in use it skips, and the pids in use during the
 * launch are at most the threads alive at its origin plus those started since.
 */
function launchPidRange(launcherPid: number, origin: PidOrigin): ((pid: number) => boolean) | undefined {
  const now = readPidCursor();
  if (!now) return undefined;
  const started = now.forks - origin.forks;
  if (2 * started + origin.threads >= pidMax! - RESERVED_PIDS) return undefined;
  return pidsHandedOutSince(launcherPid, now.lastPid);
}

/** Pids from `launcherPid` to `lastPid` in the kernel's order, which wraps past pid_max (given less than one full turn). */
export function pidsHandedOutSince(launcherPid: number, lastPid: number): (pid: number) => boolean {
  return lastPid >= launcherPid ? (pid) => pid >= launcherPid && pid <= lastPid : (pid) => pid >= launcherPid || pid <= lastPid;
}

/**
 * Whether a process whose environment read back empty may be between two program images (in
 * execve the old one is gone and the new one not yet mapped, so its marker cannot be read for a
 * moment): alive, not a kernel thread (those have no environment at all), and no command line
 * either (a process started with an empty environment still has its argv).
 */
function betweenImages(pid: number): boolean {
  try {
    if (readFileSync(`/proc/${pid}/cmdline`).length > 0) return false;
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "pid (comm) S ppid …": comm may hold spaces and parentheses, so read after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return state !== 'Z' && state !== 'X' && ppid !== '2' && pid !== 2;
  } catch {
    return false; // gone
  }
}

/**
 * What one {@link sweepLaunchSync} came to: `done` (nothing of the launch is left), `retry` (none
 * found, but a process started since the launch was between program images: sweep again in a
 * moment), `too-wide` (the range could not be narrowed; nothing done).
 */
export type LaunchSweep = 'done' | 'retry' | 'too-wide';

/**
 * Sweep a launch that has ended: SIGKILL its marked processes until none is left, reading only the
 * processes started since its origin, synchronously, so the nodes it held can go to the next task
 * in the same tick its launcher exited.
 */
export function sweepLaunchSync(token: string, launcherPid: number, origin: PidOrigin, rounds = 20): LaunchSweep {
  const wanted = needle(TASK_TOKEN_VARIABLE, token);
  let unsure = false;
  for (let round = 0; round < rounds; round++) {
    // Re-read each round: a process forked while we sweep has a pid past the previous cursor.
    const ours = launchPidRange(launcherPid, origin);
    if (!ours) {
      if (round === 0) return 'too-wide';
      // The cursor came round while we swept (pid space nearly exhausted): look at everything.
      sweepMarkedProcessesSync(TASK_TOKEN_VARIABLE, token, rounds);
      return 'done';
    }
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      return 'done';
    }
    const found: number[] = [];
    unsure = false;
    for (const entry of entries) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === process.pid || !ours(pid)) continue;
      try {
        const environ = readFileSync(`/proc/${pid}/environ`);
        if (marked(environ, wanted)) found.push(pid);
        else if (environ.length === 0 && betweenImages(pid)) unsure = true;
      } catch {
        // gone, or not ours
      }
    }
    if (found.length === 0) break;
    signalEach(found, 'SIGKILL');
  }
  return unsure ? 'retry' : 'done';
}

/** Most re-sweeps, 1 ms apart, for processes caught between program images (an exec takes well under that). */
const RETRY_SWEEPS = 50;

/**
 * Sweep an ended launch: narrowed and synchronous when it can be (then the caller's next step runs
 * in the same tick), again shortly after when a process was caught mid-exec, else the full sweep.
 */
export async function sweepLaunch(token: string, launcherPid: number | undefined, origin: PidOrigin | undefined): Promise<void> {
  let sweep: LaunchSweep = launcherPid !== undefined && origin ? sweepLaunchSync(token, launcherPid, origin) : 'too-wide';
  for (let retry = 0; sweep === 'retry' && retry < RETRY_SWEEPS; retry++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    sweep = sweepLaunchSync(token, launcherPid!, origin!);
  }
  if (sweep === 'too-wide') await sweepMarkedProcesses(TASK_TOKEN_VARIABLE, token);
}

/** Launches under way in this process (token → launcher pid), for the exit hook. */
const liveLaunches = new Map<string, number>();

function killLiveLaunches(): void {
  for (const [token, pid] of liveLaunches) {
    signalGroup(pid, 'SIGKILL');
    sweepMarkedProcessesSync(TASK_TOKEN_VARIABLE, token);
  }
}

/**
 * Until the returned function is called, this process exiting (e.g. a worker being replaced) kills
 * the launch and everything it started. One `exit` listener serves every launch, so many
 * concurrent tasks do not pile up listeners.
 */
export function killOnExit(token: string, launcherPid: number): () => void {
  if (liveLaunches.size === 0) process.on('exit', killLiveLaunches);
  liveLaunches.set(token, launcherPid);
  return () => {
    if (!liveLaunches.delete(token)) return;
    if (liveLaunches.size === 0) process.removeListener('exit', killLiveLaunches);
  };
}
