/**
 * Closing a dashboard publisher while it is saving a checkpoint still writes its `end` record:
 * a dashboard that follows the campaign must see it end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { DashboardPublisher, eventsKey } from '../../src/monitor/dashboard/publisher.js';
import { redisFixture } from '../helpers/redis.js';

describe('DashboardPublisher.close()', () => {
  const redis = redisFixture();
  let client: Redis;

  before(async () => {
    await redis.start();
    client = new Redis(redis.url);
  });

  after(async () => {
    await client.quit();
    await redis.stop();
  });

  test('writes the end record also when called while a write or its checkpoint is under way', async () => {
    for (let round = 0; round < 40; round++) {
      const prefix = redis.prefix();
      // A checkpoint after every write, and no timer: each flush is an XADD and then a SET.
      const publisher = await DashboardPublisher.open({ url: redis.url, prefix, intervalMs: 60_000, checkpointIntervalMs: 1 });
      publisher.recordValue('x', round);
      const flushing = publisher.flush();
      // Close at moments spread over the XADD and the SET that follows it.
      for (let turn = 0; turn < round % 8; turn++) await new Promise((resolve) => setImmediate(resolve));
      if (round % 2 === 1) while ((await client.xlen(eventsKey(prefix))) === 0);
      await publisher.close();
      await flushing;
      const entries = await client.xrange(eventsKey(prefix), '-', '+');
      const records = entries.flatMap(([, fields]) => (fields[1] ?? '').split('\n'));
      assert.ok(
        records.some((line) => line.includes('"type":"end"')),
        `round ${round}: no end record in ${JSON.stringify(records)}`,
      );
    }
  });
});
