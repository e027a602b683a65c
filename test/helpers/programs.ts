import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SOURCES = new URL('../fixtures/programs/', import.meta.url);

/** Compile the test programs into a temporary directory; `cleanup` removes it. */
export async function buildPrograms(): Promise<{ simulator: string; mpiRanks: string; dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'colmena-programs-'));
  const source = (name: string) => fileURLToPath(new URL(name, SOURCES));
  const simulator = join(dir, 'simulator');
  const mpiRanks = join(dir, 'mpi_ranks');
  await run('gcc', ['-O1', '-o', simulator, source('simulator.c')]);
  await run('mpicc', ['-O1', '-o', mpiRanks, source('mpi_ranks.c')]);
  return { simulator, mpiRanks, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Command lines of running processes that contain `marker`. */
export async function processesMatching(marker: string): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'pid,stat,args']);
  return stdout
    .split('\n')
    .filter((line) => line.includes(marker) && !line.includes(' ps -eo'))
    // Zombies have exited; only their parent's bookkeeping remains.
    .filter((line) => !/^\s*\d+\s+Z/.test(line));
}
