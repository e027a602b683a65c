/**
 * The echo side of the bare batched loop in `npm run bench -- redis`, in a process of its own:
 * `tsx bench/redis-bare-echo.ts <url> <key> <count> <resultBytes>`. Pops `<key>_a` in batches and
 * pushes one result-sized element per item onto `<key>_b`, until `count` are echoed.
 */
import { Redis } from 'ioredis';

const [url, key, countText, resultBytesText] = process.argv.slice(2);
const count = Number(countText);
const result = 'y'.repeat(Number(resultBytesText));
const [pop, push] = [new Redis(url!), new Redis(url!)];
await Promise.all([pop.ping(), push.ping()]);
process.stdout.write('ready\n');
for (let echoed = 0; echoed < count; ) {
  const [, items] = (await pop.call('BLMPOP', 0, 1, `${key}_a`, 'LEFT', 'COUNT', 256)) as [string, string[]];
  await push.rpush(`${key}_b`, ...items.map(() => result));
  echoed += items.length;
}
pop.disconnect();
push.disconnect();
