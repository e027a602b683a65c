import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { AgentFailedError, InvalidArgumentError, InvalidStateError } from '../../src/common/errors.js';
import { LocalQueues } from '../../src/queue/local.js';
import { AsyncEvent, BaseThinker, agent } from '../../src/thinker/index.js';
import { settled, withinDeadline } from './helpers.js';

/** A pino logger whose JSON lines are kept for inspection. */
function capturedLogger(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => raw.push(line) });
  return { logger, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('BaseThinker lifecycle', () => {
  test('run() starts every agent and resolves once all have finished', async () => {
    const queues = new LocalQueues();
    const started: string[] = [];
    class Pair extends BaseThinker {
      readonly gate = new AsyncEvent();
      @agent()
      async first() {
        started.push('first');
        await this.gate.wait();
      }
      @agent()
      async second() {
        started.push('second');
        this.gate.set();
      }
    }
    assert.deepEqual(
      Pair.listAgents().map((info) => info.name),
      ['first', 'second'],
    );
    const thinker = new Pair(queues);
    assert.equal(thinker.state, 'created');
    await assert.rejects(thinker.join(), /join\(\) before start\(\)/);
    const running = thinker.start();
    assert.equal(running, thinker);
    assert.equal(thinker.state, 'running');
    assert.throws(() => thinker.start(), (error) => error instanceof InvalidStateError && /this one is running/.test(error.message));
    await thinker.join();
    assert.deepEqual(started.sort(), ['first', 'second']);
    assert.equal(thinker.state, 'finished');
    assert.equal(thinker.done.isSet(), true);
    await assert.rejects(thinker.run(), /this one is finished/);
  });

  test('a non-startup agent returning sets done; a startup agent returning does not', async () => {
    const queues = new LocalQueues();
    const events: string[] = [];
    class Campaign extends BaseThinker {
      readonly ready = new AsyncEvent();
      @agent({ startup: true })
      async setup() {
        events.push('setup finished');
        this.ready.set();
      }
      @agent()
      async waiter() {
        await this.done.wait();
        events.push(`waiter saw done`);
      }
      @agent()
      async worker() {
        await this.ready.wait();
        events.push(`done after setup: ${this.done.isSet()}`);
        events.push('worker finished');
      }
    }
    await withinDeadline(new Campaign(queues).run(), 'the campaign');
    assert.deepEqual(events, ['setup finished', 'done after setup: false', 'worker finished', 'waiter saw done']);
  });

  test('a thinker with no agents finishes at once', async () => {
    class Empty extends BaseThinker {}
    const { logger, lines } = capturedLogger();
    await new Empty(new LocalQueues(), null, { logger }).run();
    assert.ok(lines().some((line) => /has no agents/.test(String(line.msg))));
  });

  test('the constructor checks its arguments', () => {
    class Empty extends BaseThinker {}
    assert.throws(() => new Empty({} as LocalQueues), InvalidArgumentError);
    assert.throws(() => new Empty(new LocalQueues(), {} as never), /must be a ResourceCounter or null/);
    assert.throws(() => new Empty(new LocalQueues()).rec, /has no ResourceCounter; pass one/);
  });
});

describe('BaseThinker failures', () => {
  test('an agent that throws is logged with its stack, sets done, and run() rejects naming it', async () => {
    const { logger, lines } = capturedLogger();
    class Fragile extends BaseThinker {
      @agent({ startup: true })
      async broken() {
        await Promise.resolve();
        throw new RangeError('bad input 42');
      }
      @agent()
      async patient() {
        await this.done.wait();
      }
    }
    const error = await new Fragile(new LocalQueues(), null, { logger }).run().then(
      () => assert.fail('run() should reject'),
      (reason: unknown) => reason,
    );
    assert.ok(error instanceof AgentFailedError);
    assert.equal(error.code, 'AGENT_FAILED');
    assert.equal(error.agentName, 'broken');
    assert.match(error.message, /Agent 'broken' failed: bad input 42/);
    assert.ok(error.cause instanceof RangeError);
    const logged = lines().find((line) => line.level === 50);
    assert.ok(logged, 'an error line was logged');
    assert.equal(logged.name, 'thinker.broken');
    const err = logged.err as { stack: string; message: string };
    assert.equal(err.message, 'bad input 42');
    assert.match(err.stack, /RangeError: bad input 42\n\s+at /);
  });

  test('every failing agent is listed, the first one named', async () => {
    class Fragile extends BaseThinker {
      @agent()
      async one() {
        throw new Error('first');
      }
      @agent()
      async two() {
        await this.done.wait();
        throw new Error('second');
      }
    }
    const { logger } = capturedLogger();
    await assert.rejects(new Fragile(new LocalQueues(), null, { logger }).run(), (error) => {
      assert.ok(error instanceof AgentFailedError);
      assert.deepEqual(
        error.failures.map((f) => f.agentName),
        ['one', 'two'],
      );
      assert.match(error.message, /Agent 'one' failed: first \(also failed: two\)/);
      return true;
    });
  });

  test('a synchronous agent that throws is reported the same way', async () => {
    class Fragile extends BaseThinker {
      @agent()
      sync() {
        throw new Error('at once');
      }
    }
    const { logger } = capturedLogger();
    await assert.rejects(new Fragile(new LocalQueues(), null, { logger }).run(), /Agent 'sync' failed: at once/);
  });
});

describe('BaseThinker per-agent context', () => {
  test('prepareAgent and tearDownAgent run around each agent, inside its context', async () => {
    const calls: string[] = [];
    class Hooked extends BaseThinker {
      protected override async prepareAgent() {
        calls.push(`prepare ${this.agentName}`);
        this.localDetails.connection = `conn-${this.agentName}`;
      }
      protected override tearDownAgent() {
        calls.push(`tear down ${this.agentName} (${String(this.localDetails.connection)})`);
      }
      @agent()
      async alpha() {
        calls.push(`alpha uses ${String(this.localDetails.connection)}`);
      }
      @agent()
      async beta() {
        throw new Error('beta fails');
      }
    }
    const { logger } = capturedLogger();
    await assert.rejects(new Hooked(new LocalQueues(), null, { logger }).run(), /Agent 'beta' failed/);
    assert.deepEqual(calls.filter((call) => call.includes('alpha')), ['prepare alpha', 'alpha uses conn-alpha', 'tear down alpha (conn-alpha)']);
    assert.deepEqual(calls.filter((call) => call.includes('beta')), ['prepare beta', 'tear down beta (conn-beta)']);
  });

  test('a failing prepareAgent or tearDownAgent fails the agent', async () => {
    class BadSetup extends BaseThinker {
      protected override prepareAgent() {
        throw new Error('no database');
      }
      @agent()
      async work() {
        assert.fail('the body must not run');
      }
    }
    const { logger } = capturedLogger();
    await assert.rejects(new BadSetup(new LocalQueues(), null, { logger }).run(), /Agent 'work' failed: no database/);
    class BadTearDown extends BaseThinker {
      protected override tearDownAgent() {
        throw new Error('cannot close');
      }
      @agent()
      async work() {}
    }
    await assert.rejects(new BadTearDown(new LocalQueues(), null, { logger }).run(), /Agent 'work' failed: cannot close/);
  });

  test('localDetails and agentName are private to each agent across awaits; outside agents they are shared', async () => {
    const seen: string[] = [];
    class Locals extends BaseThinker {
      readonly turn = new AsyncEvent();
      readonly back = new AsyncEvent();
      @agent({ startup: true })
      async left() {
        this.localDetails.mine = 'left';
        await this.turn.wait();
        seen.push(`${this.agentName}:${String(this.localDetails.mine)}`);
        this.back.set();
      }
      @agent()
      async right() {
        this.localDetails.mine = 'right';
        this.turn.set();
        await this.back.wait();
        seen.push(`${this.agentName}:${String(this.localDetails.mine)}`);
      }
    }
    const thinker = new Locals(new LocalQueues());
    thinker.localDetails.mine = 'outside';
    await thinker.run();
    assert.deepEqual(seen, ['left:left', 'right:right']);
    assert.equal(thinker.agentName, null);
    assert.equal(thinker.localDetails.mine, 'outside');
  });

  test('each agent logs through its own child logger named <loggerName>.<agent>', async () => {
    const { logger, lines } = capturedLogger();
    class Chatty extends BaseThinker {
      @agent()
      async speaker() {
        this.logger.info('hello from the speaker');
      }
    }
    const thinker = new Chatty(new LocalQueues(), null, { logger, loggerName: 'campaign' });
    thinker.logger.info('hello from outside');
    await thinker.run();
    const names = Object.fromEntries(lines().map((line) => [line.msg, line.name]));
    assert.equal(names['hello from the speaker'], 'campaign.speaker');
    assert.equal(names['hello from outside'], 'campaign');
  });

  test('join() before the agents finish stays pending', async () => {
    class Waiting extends BaseThinker {
      readonly go = new AsyncEvent();
      @agent()
      async wait() {
        await this.go.wait();
      }
    }
    const thinker = new Waiting(new LocalQueues()).start();
    const joined = thinker.join();
    assert.equal(await settled(joined), false);
    thinker.go.set();
    await joined;
  });
});

describe('BaseThinker started without join', () => {
  test('a failure before join() is not an unhandled rejection, and join() still reports it', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      class Fragile extends BaseThinker {
        @agent()
        async broken() {
          throw new Error('early');
        }
      }
      const { logger } = capturedLogger();
      const thinker = new Fragile(new LocalQueues(), null, { logger }).start();
      await thinker.done.wait();
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
      await assert.rejects(thinker.join(), /Agent 'broken' failed: early/);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('BaseThinker events for observers', () => {
  test('agent starts and stops and AsyncEvent properties being set are emitted', async () => {
    class Observed extends BaseThinker {
      readonly go = new AsyncEvent();
      @agent({ startup: true })
      async starter() {
        this.go.set();
      }
      @agent()
      async follower() {
        await this.go.wait();
        throw new Error('follower fails');
      }
    }
    const { logger } = capturedLogger();
    const thinker = new Observed(new LocalQueues(), null, { logger });
    const seen: string[] = [];
    thinker.events.on('agentStarted', ({ agent: name }) => seen.push(`started ${name}`));
    thinker.events.on('agentStopped', ({ agent: name, failed }) => seen.push(`stopped ${name}${failed ? ' (failed)' : ''}`));
    thinker.events.on('eventSet', ({ event }) => seen.push(`set ${event}`));
    thinker.events.on('eventSet', () => {
      throw new Error('a broken observer');
    });
    await assert.rejects(thinker.run(), /follower fails/);
    assert.deepEqual([...seen].sort(), ['set done', 'set go', 'started follower', 'started starter', 'stopped follower (failed)', 'stopped starter']);
    assert.ok(seen.indexOf('started follower') < seen.indexOf('stopped follower (failed)'));
    assert.ok(seen.indexOf('set go') < seen.indexOf('stopped follower (failed)'));
    assert.equal(seen.at(-1), 'set done');
  });
});
