import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The first module of each worker thread. Node 20 applies ESM loader hooks (tsx) in no worker
 * thread, but does apply the CommonJS hooks that `--import tsx` installs there, and can require an
 * ES module: so a TypeScript entry (in development) is required, a compiled one imported. A
 * `data:` module, not `eval`, because an eval'd worker does not run the process's `--import`s.
 */
const BOOTSTRAP = `
import { workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
const entry = workerData.entry;
if (/\\.[cm]?ts$/.test(entry)) {
  const path = fileURLToPath(entry);
  createRequire(path)(path);
} else {
  await import(entry);
}
`;
const BOOTSTRAP_URL = new URL(`data:text/javascript,${encodeURIComponent(BOOTSTRAP)}`);

/** Start a worker thread running the module `workerData.entry` (a file URL, `.ts` or `.js`). */
export function startThread(options: WorkerOptions & { workerData: { entry: string } }): Worker {
  return new Worker(BOOTSTRAP_URL, options);
}
