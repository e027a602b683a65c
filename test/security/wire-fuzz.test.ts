/**
 * Wire fuzz (fixed seed): the server never stops except on the exact kill element, never hangs
 * (a heartbeat answered after every batch), answers every element with a readable task id exactly
 * once, and its memory settles within twice its start. `npm run bench -- fuzz` runs 10,000+.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { redisFixture } from '../helpers/redis.js';
import { runWireFuzz } from './wire-fuzz.js';

const redis = redisFixture();
before(() => redis.start());
after(() => redis.stop());

it('survives 2,000 fuzzed elements, answering each readable one exactly once', async () => {
  const report = await runWireFuzz({ url: redis.url, prefix: redis.prefix(), seed: 15, count: 2000 });
  const summary = JSON.stringify({ ...report, unanswered: report.unanswered.slice(0, 10), duplicates: report.duplicates.slice(0, 10) });
  assert.equal(report.serverStops, 0, summary);
  assert.equal(report.hangs, 0, summary);
  assert.ok(report.readable > 1000, summary);
  assert.deepEqual(report.unanswered, [], summary);
  assert.deepEqual(report.duplicates, [], summary);
  assert.ok(report.rssEndKiB <= 2 * report.rssStartKiB, summary);
  assert.equal(report.killExitCode, 0, `the exact kill element stops it cleanly: ${summary}`);
});
