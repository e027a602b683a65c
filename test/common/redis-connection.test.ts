import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import {
  checkRedisUrl,
  connectRedis,
  describeRedisFailure,
  redactRedisUrl,
  RedisConnectionError,
} from '../../src/common/redis-connection.js';
import { freePort, startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';

/** A logger that only counts and keeps its lines. */
function recordingLogger(): { lines: string[]; logger: never } {
  const lines: string[] = [];
  const record = (_fields: unknown, message: string): void => void lines.push(message);
  const logger = { warn: record, info: record, error: record, debug: record };
  return { lines, logger: logger as never };
}

describe('redis-connection', () => {
  let server: RedisServerHandle;
  let guarded: RedisServerHandle;
  before(async () => {
    [server, guarded] = await Promise.all([startRedisServer(), startRedisServer()]);
    const admin = new Redis(guarded.url);
    await admin.config('SET', 'requirepass', 's3cret');
    admin.disconnect();
  });
  after(async () => {
    await Promise.all([server.stop(), guarded.stop()]);
  });

  it('redacts passwords and keeps the user', () => {
    assert.equal(redactRedisUrl('redis://:pw@h:1/0'), 'redis://:***@h:1/0');
    assert.equal(redactRedisUrl('rediss://alice:pw@h:1'), 'rediss://alice:***@h:1');
    assert.equal(redactRedisUrl('redis://h:1'), 'redis://h:1');
  });

  it('checks URLs, naming the option and hiding the password', () => {
    assert.equal(checkRedisUrl('redis://h:1'), 'redis://h:1');
    assert.throws(() => checkRedisUrl('http://:pw@h:1', 'queues.url'), (error: Error) => {
      assert.match(error.message, /queues\.url must look like redis:\/\//);
      assert.doesNotMatch(error.message, /pw/);
      return true;
    });
    assert.throws(() => checkRedisUrl(42), /got 42/);
  });

  it('connects to a live server', async () => {
    const redis = await connectRedis({ url: server.url, purpose: 'test' });
    assert.equal(await redis.ping(), 'PONG');
    redis.disconnect();
  });

  const cases: { name: string; url: () => string; problem: string; pattern: RegExp }[] = [
    { name: 'unreachable', url: () => `redis://:hidden@127.0.0.1:${unusedPort}`, problem: 'unreachable', pattern: /Cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ .*Is redis-server running/ },
    { name: 'wrong password', url: () => guarded.url.replace('redis://', 'redis://:wrong@'), problem: 'wrong-password', pattern: /refused the password/ },
    { name: 'no password', url: () => guarded.url, problem: 'password-required', pattern: /wants a password/ },
    { name: 'TLS to a plain port', url: () => server.url.replace('redis://', 'rediss://:hidden@'), problem: 'tls', pattern: /TLS to Redis at rediss:\/\/:\*\*\*@.* Is that port serving TLS/ },
  ];
  let unusedPort = 0;
  before(async () => {
    unusedPort = await freePort();
  });
  for (const { name, url, problem, pattern } of cases) {
    it(`${name}: one clear error within 5 s, password redacted, few log lines`, async () => {
      const { lines, logger } = recordingLogger();
      const started = performance.now();
      await assert.rejects(connectRedis({ url: url(), purpose: 'test', logger, timeoutMs: 4000 }), (error: unknown) => {
        assert.ok(error instanceof RedisConnectionError, String(error));
        assert.equal(error.problem, problem);
        assert.equal(error.code, 'CONNECTION');
        assert.match(error.message, pattern);
        assert.doesNotMatch(error.message, /hidden|wrong@|s3cret/);
        return true;
      });
      assert.ok(performance.now() - started < 5000, 'within 5 s');
      assert.ok(lines.length <= 3, `at most a few log lines, got ${lines.length}: ${lines.join(' | ')}`);
      for (const line of lines) assert.doesNotMatch(line, /hidden|s3cret/);
    });
  }

  it('describes a timeout', () => {
    const error = describeRedisFailure(new Error('no answer'), 'redis://:x@h:1', 500);
    assert.equal(error.problem, 'timeout');
    assert.match(error.message, /did not answer within 500 ms/);
    assert.equal(error.url, 'redis://:***@h:1');
  });
});

describe('RedisQueues and an unusable Redis', () => {
  it('sendInputs rejects within 5 s with a RedisConnectionError naming the redacted URL', async () => {
    const { RedisQueues } = await import('../../src/queue/redis.js');
    const port = await freePort();
    const queues = new RedisQueues({ url: `redis://:hidden@127.0.0.1:${port}`, role: 'client', connectTimeoutMs: 2000, noServerWarningMs: null });
    const started = performance.now();
    await assert.rejects(queues.sendInputs('anything', []), (error: unknown) => {
      assert.ok(error instanceof RedisConnectionError, String(error));
      assert.equal(error.problem, 'unreachable');
      assert.match(error.message, /redis:\/\/:\*\*\*@127\.0\.0\.1/);
      return true;
    });
    assert.ok(performance.now() - started < 5000);
    assert.equal(queues.activeCount(), 0, 'the task that could not be sent is not left active');
    await queues.close();
  });
});
