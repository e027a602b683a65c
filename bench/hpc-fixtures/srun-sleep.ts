import { ExecutableMethod } from '../../src/methods/executable.js';
import { LAUNCHERS } from '../../src/methods/launch-template.js';

/** `srun … sleep <s>`, launched directly (no wrapper), on the nodes the task was placed on. */
export const srunSleep = new ExecutableMethod<[string], string>({
  command: ['sleep'],
  mpi: LAUNCHERS.srun,
  preprocess: (_dir, [seconds]) => ({ args: [seconds] }),
});
