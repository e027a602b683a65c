/**
 * `npm run bench -- imports`: how long `import('colmena')` and a worker thread's module take in a
 * fresh process, from the built package, beside the raw limit — importing one small module of
 * ours that loads no package (`common/errors.js`) — measured in the same run.
 */
import { buildPackage, probeImport } from '../test/helpers/module-probe.js';
import { flag, median, report, round } from './lib.js';

export async function main(argv: string[]): Promise<void> {
  const rounds = flag(argv, '--quick') ? 3 : 7;
  await using built = await buildPackage();
  const files = { core: 'index.js', thread_worker: 'task-server/executors/thread-worker.js', raw: 'common/errors.js' };
  const times: Record<keyof typeof files, number[]> = { core: [], thread_worker: [], raw: [] };
  const packages: Record<string, string[]> = {};
  for (let i = 0; i < rounds; i++) {
    for (const [name, file] of Object.entries(files) as [keyof typeof files, string][]) {
      const probe = await probeImport(`${built.dir}/${file}`);
      times[name].push(probe.ms);
      packages[name] = probe.packages;
    }
  }
  report({
    bench: 'imports',
    rounds,
    core_ms: round(median(times.core), 1),
    thread_worker_ms: round(median(times.thread_worker), 1),
    raw_ms: round(median(times.raw), 1),
    core_packages: packages.core!.length,
    thread_worker_packages: packages.thread_worker!.length,
    heavy_in_core: packages.core!.filter((name) => ['ioredis', 'hono', 'zod', 'bullmq'].includes(name)),
  });
}
