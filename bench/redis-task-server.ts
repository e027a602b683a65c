/**
 * The task server of `npm run bench -- redis`, in a process of its own as users run one:
 * `tsx bench/redis-task-server.ts <url> <prefix> [inline|threads]`. Serves a no-op method until
 * the kill signal, printing `ready` once it listens. Runs the built package (the benchmark has
 * built it), as users run a task server.
 */
import { importBuilt } from './lib.js';

const { colmena, redis } = await importBuilt();
const { inlineMethod, moduleMethod, LocalTaskServer } = colmena;
const { RedisQueues } = redis;

const [url, prefix, executor = 'inline'] = process.argv.slice(2);
const queues = new RedisQueues({ url, prefix, role: 'server' });
const threads = executor === 'threads';
const noop = threads ? moduleMethod(new URL('./noop-methods.ts', import.meta.url), 'noop') : inlineMethod(() => {});
const window = process.env.COLMENA_BENCH_WINDOW ? Number(process.env.COLMENA_BENCH_WINDOW) : undefined;
const server = new LocalTaskServer(queues, { methods: { noop }, threads: 2, window });
server.events.on('started', () => process.stdout.write('ready\n'));
server.start();
await server.join();
await queues.close();
