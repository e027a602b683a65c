/**
 * The task server of the task-limits study, run as its own process as Colmena runs its task
 * server: `<workers>` worker threads serving `target` from the Redis queues at `<url>` and
 * `<prefix>`. Prints `ready` once it is listening and serves until the thinker's kill signal.
 *
 *   node --import tsx examples/task-limits/server.ts <url> <prefix> <workers>
 */
import { pathToFileURL } from 'node:url';
import { LocalTaskServer, moduleMethod } from '../../src/index.js';
import { RedisQueues } from '../../src/queue/redis.js';
import type * as taskMethods from './methods.js';

export const methods = { target: moduleMethod<typeof taskMethods.target>(new URL('./methods.ts', import.meta.url), 'target') };

export async function serve(url: string, prefix: string, workers: number, onReady: () => void): Promise<void> {
  const queues = new RedisQueues({ url, prefix, role: 'server', serializationMethod: 'msgpack' });
  const server = new LocalTaskServer(queues, { methods, threads: workers }).start();
  onReady();
  await server.join();
  await queues.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.COLMENA_LOG_LEVEL ??= 'warn';
  const [url, prefix, workers] = process.argv.slice(2);
  if (!url || !prefix || !workers) {
    console.error('usage: server.ts <redis url> <prefix> <workers>');
    process.exit(2);
  }
  await serve(url, prefix, Number(workers), () => console.log('ready'));
}
