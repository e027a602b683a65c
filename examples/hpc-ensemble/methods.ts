/**
 * The ensemble's two kinds of task. `simulate` is an MPI-style program launched with `srun` on the
 * nodes colmena placed it on (each rank reports its node and a score). `train` stands in for a
 * model update on a GPU: it reports the device it was given.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecutableMethod, LAUNCHERS } from '../../src/index.js';

export interface SimulationOutcome {
  score: number;
  nodes: string[];
}

export const simulate = new ExecutableMethod<[number], SimulationOutcome>({
  // A toy objective computed by every rank: -(x - 37)^2, after some "work".
  command: ['bash', '-c', 'sleep 1; echo "$SLURMD_NODENAME $(( -($0 - 37) * ($0 - 37) ))"'],
  mpi: LAUNCHERS.srun,
  preprocess: (_dir, [x]) => ({ args: [String(x)] }),
  postprocess: async (runDir) => {
    const lines = (await readFile(join(runDir, 'colmena.stdout'), 'utf8')).trim().split('\n');
    const [, score] = lines[0]!.split(' ');
    return { score: Number(score), nodes: lines.map((line) => line.split(' ')[0]!).sort() };
  },
});

export const train = new ExecutableMethod<[number], string>({
  command: ['bash', '-c', 'echo "trained on $0 points with GPU $CUDA_VISIBLE_DEVICES"'],
  preprocess: (_dir, [points]) => ({ args: [String(points)] }),
});
