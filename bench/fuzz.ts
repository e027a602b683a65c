/**
 * `npm run bench -- fuzz [--count 10000] [--seed 15] [--quick]`: the wire fuzz of issue 15 at full
 * size. Prints one JSON line: elements sent, server stops (target 0), hangs (0), readable
 * elements left unanswered (0) or answered twice (0), and the server's RSS at start, peak and end
 * beside its limit (2× the start), all measured in this run.
 */
import { randomUUID } from 'node:crypto';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { runWireFuzz } from '../test/security/wire-fuzz.js';
import { flag, option, report } from './lib.js';

export async function main(argv: string[]): Promise<void> {
  const count = option(argv, '--count', flag(argv, '--quick') ? 2000 : 10_000);
  const seed = option(argv, '--seed', 15);
  const redis = await startRedisServer();
  try {
    const started = performance.now();
    const result = await runWireFuzz({ url: redis.url, prefix: `bench-fuzz-${randomUUID()}`, seed, count });
    report({
      bench: 'fuzz',
      seed,
      elements: result.elements,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      serverStops: result.serverStops,
      hangs: result.hangs,
      readable: result.readable,
      unanswered: result.unanswered.length,
      duplicates: result.duplicates.length,
      unansweredByKind: Object.fromEntries(Object.entries(result.byKind).map(([kind, k]) => [kind, k.unanswered])),
      firstUnanswered: result.unanswered.slice(0, 5),
      rssStartMiB: Math.round(result.rssStartKiB / 1024),
      rssPeakMiB: Math.round(result.rssPeakKiB / 1024),
      rssEndMiB: Math.round(result.rssEndKiB / 1024),
      rssLimitMiB: Math.round((2 * result.rssStartKiB) / 1024),
      killExitCode: result.killExitCode,
    });
  } finally {
    await redis.stop();
  }
}
