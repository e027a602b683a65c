/**
 * The task server the wire fuzz drives, in a process of its own so that a stop, a crash and its
 * memory can be seen from outside: `node --import tsx fuzz-server.ts <redis-url> <prefix>`.
 * Exits 0 after the kill signal.
 */
import { inlineMethod } from '../../src/methods/spec.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { LocalTaskServer } from '../../src/task-server/local.js';

const [url, prefix] = process.argv.slice(2);
if (!url || !prefix) throw new TypeError('usage: fuzz-server.ts <redis-url> <prefix>');
const queues = new RedisQueues({ url, prefix, role: 'server', topics: ['other'] });
const server = new LocalTaskServer(queues, {
  methods: {
    add: inlineMethod((a: number, b: number) => a + b),
    echo: inlineMethod((value: unknown) => value),
  },
}).start();
await server.join();
await queues.close();
process.exit(0);
