import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile, copyFile, chmod } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './redis-server.js';

const run = promisify(execFile);

/** A real Slurm cluster of `nodes` slurmd daemons on this machine, its config in a temp folder. */
export interface SlurmClusterHandle {
  /** Node names, `n1`…`nN`. */
  nodes: string[];
  /** Environment for `srun`/`sbatch`/`squeue` to reach this cluster (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  dir: string;
  /** Run a Slurm client command against this cluster. */
  command(program: string, args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface SlurmClusterOptions {
  /** slurmd daemons. @default 3 */
  nodes?: number;
  /** CPUs declared per node (config_overrides lets this exceed the real core count). @default 4 */
  cpusPerNode?: number;
  startupTimeoutMs?: number;
}

/**
 * Start munged (own key and socket), slurmctld and one `slurmd -N nX` per node, all on free
 * loopback ports, and wait until every node is idle. Needs root and Debian's `slurm-wlm` and
 * `munge` (scripts/install-system-deps.sh installs them).
 */
export async function startSlurmCluster(options: SlurmClusterOptions = {}): Promise<SlurmClusterHandle> {
  const nodeCount = options.nodes ?? 3;
  const cpus = options.cpusPerNode ?? 4;
  const dir = await mkdtemp(join(tmpdir(), 'colmena-slurm-'));
  const children: ChildProcess[] = [];
  const nodes = Array.from({ length: nodeCount }, (_, i) => `n${i + 1}`);
  const host = hostname();
  const stop = async (): Promise<void> => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // munge: a key of our own, so the cluster never depends on (or disturbs) a system munged.
    const mungeDir = join(dir, 'munge');
    await mkdir(mungeDir, { mode: 0o700 });
    await copyFile('/etc/munge/munge.key', join(mungeDir, 'munge.key')).catch(async () => {
      await writeFile(join(mungeDir, 'munge.key'), Buffer.alloc(1024, 7));
    });
    await chmod(join(mungeDir, 'munge.key'), 0o400);
    const socket = join(mungeDir, 'munge.sock');
    await run('munged', [
      '--force',
      `--socket=${socket}`,
      `--key-file=${join(mungeDir, 'munge.key')}`,
      `--pid-file=${join(mungeDir, 'munged.pid')}`,
      `--log-file=${join(mungeDir, 'munged.log')}`,
      `--seed-file=${join(mungeDir, 'munged.seed')}`,
    ]);
    const mungePid = Number((await readFile(join(mungeDir, 'munged.pid'), 'utf8')).trim());

    const controllerPort = await freePort();
    const nodePorts = await Promise.all(nodes.map(() => freePort()));
    const nodeLines = nodes.map(
      (name, i) => `NodeName=${name} NodeHostname=${host} NodeAddr=127.0.0.1 Port=${nodePorts[i]} CPUs=${cpus} RealMemory=1000 State=UNKNOWN`,
    );
    const conf = [
      'ClusterName=colmenatest',
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${controllerPort}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      'SchedulerType=sched/backfill',
      'MpiDefault=none',
      'SwitchType=switch/none',
      'AccountingStorageType=accounting_storage/none',
      'JobAcctGatherType=jobacct_gather/none',
      'JobCompType=jobcomp/none',
      'SlurmdParameters=config_overrides',
      'ReturnToService=2',
      'KillWait=2',
      'MinJobAge=30',
      'InactiveLimit=0',
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool-%n')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd-%n.pid')}`,
      `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'slurmd-%n.log')}`,
      ...nodeLines,
      `PartitionName=debug Nodes=${nodes.join(',')} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO`,
      '',
    ].join('\n');
    const confPath = join(dir, 'slurm.conf');
    await writeFile(confPath, conf);
    await mkdir(join(dir, 'state'));
    const env = { ...process.env, SLURM_CONF: confPath };
    children.push({
      // munged daemonizes: stop it through its pid.
      exitCode: null,
      signalCode: null,
      kill: (signal: NodeJS.Signals) => {
        try {
          process.kill(mungePid, signal);
        } catch {
          // gone
        }
      },
      once: (_event: string, listener: () => void) => {
        const check = (): void => {
          try {
            process.kill(mungePid, 0);
            setTimeout(check, 20);
          } catch {
            listener();
          }
        };
        check();
      },
    } as unknown as ChildProcess);
    children.push(spawn('slurmctld', ['-D', '-c', '-f', confPath], { env, stdio: 'ignore' }));
    for (const name of nodes) children.push(spawn('slurmd', ['-D', '-N', name, '-f', confPath], { env, stdio: 'ignore' }));

    const command = async (program: string, args: string[]): Promise<string> => (await run(program, args, { env })).stdout;
    const deadline = Date.now() + (options.startupTimeoutMs ?? 30_000);
    for (;;) {
      const states = await command('sinfo', ['-h', '-N', '-o', '%N %t']).catch(() => '');
      const idle = states.split('\n').filter((line) => / idle$/.test(line.trim())).length;
      if (idle === nodeCount) break;
      if (Date.now() > deadline) {
        const log = await readFile(join(dir, 'slurmctld.log'), 'utf8').catch(() => '(no log)');
        throw new Error(`Slurm test cluster not idle within the startup timeout; sinfo:\n${states}\nslurmctld.log tail:\n${log.slice(-2000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return { nodes, env, dir, command, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
