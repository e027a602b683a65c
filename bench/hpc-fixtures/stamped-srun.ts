import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExecutableMethod } from '../../src/methods/executable.js';
import { LAUNCHERS } from '../../src/methods/launch-template.js';

const STAMP = fileURLToPath(new URL('./stamp.sh', import.meta.url));

/** `srun … sleep <s>` behind a wrapper that records when the launcher started (epoch ms). */
export const stampedSleep = new ExecutableMethod<[string], number>({
  command: ['sleep'],
  mpi: ['bash', STAMP, ...LAUNCHERS.srun],
  preprocess: (_dir, [seconds]) => ({ args: [seconds] }),
  postprocess: async (runDir) => Number((await readFile(join(runDir, 'launched'), 'utf8')).trim()) / 1e6,
});
