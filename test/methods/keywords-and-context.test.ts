/**
 * Keyword arguments bind by name when a method declares its parameters (positional, keyword and
 * mixed calls; an unknown keyword fails the task, naming it), and a method that asks for its task
 * context sees its task id, topic, resources and stop signal — on inline, threads and processes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bindArguments } from '../../src/methods/bind-arguments.js';
import { moduleMethod, type MethodsOf } from '../../src/methods/spec.js';
import { taskContext } from '../../src/methods/task-context.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import type * as fixtures from './fixtures.js';

process.env.COLMENA_LOG_LEVEL ??= 'error';
const FIXTURES = new URL('./fixtures.ts', import.meta.url);

describe('bindArguments', () => {
  const params = ['a', 'b', 'scale'];
  it('binds positional, keyword and mixed calls as Python does', () => {
    assert.deepEqual(bindArguments('subtract', params, [5, 3], {}), [5, 3]);
    assert.deepEqual(bindArguments('subtract', params, [], { b: 3, a: 5 }), [5, 3]);
    assert.deepEqual(bindArguments('subtract', params, [5], { scale: 2 }), [5, undefined, 2]);
  });
  it('refuses an unknown keyword, a name given twice and too many positional arguments', () => {
    assert.throws(() => bindArguments('subtract', params, [1], { c: 2 }), /unexpected keyword argument 'c'.*Its parameters: a, b, scale/);
    assert.throws(() => bindArguments('subtract', params, [1], { a: 2 }), /multiple values for argument 'a'/);
    assert.throws(() => bindArguments('subtract', params, [1, 2, 3, 4], {}), /takes 3 argument\(s\).*4 positional/);
  });
  it('refuses a bad params option when the method is declared', () => {
    assert.throws(() => moduleMethod(FIXTURES, 'subtract', { params: ['a', 'a'] }), /params lists 'a' twice/);
    assert.throws(() => moduleMethod(FIXTURES, 'subtract', { params: 'a,b' as never }), /params must be an array of parameter names/);
  });
});

it('taskContext() outside a task that asked for it says how to ask', () => {
  assert.throws(() => taskContext(), /Declare the method with \{ taskContext: true \}/);
});

for (const executor of ['inline', 'threads', 'processes'] as const) {
  describe(`keywords and task context on '${executor}'`, () => {
    const methods = {
      subtract: moduleMethod<typeof fixtures.subtract>(FIXTURES, 'subtract', { executor, params: ['a', 'b', 'scale'] }),
      subtractUndeclared: moduleMethod<typeof fixtures.subtract>(FIXTURES, 'subtract', { executor }),
      whoAmI: moduleMethod<typeof fixtures.whoAmI>(FIXTURES, 'whoAmI', { executor, taskContext: true, params: ['tag'] }),
      noContext: moduleMethod<typeof fixtures.noContext>(FIXTURES, 'noContext', { executor }),
    };
    type M = MethodsOf<typeof methods>;
    let queues: LocalQueues<M>;
    let server: LocalTaskServer;

    before(() => {
      queues = new LocalQueues<M>({ topics: ['sim'] });
      server = new LocalTaskServer(queues, { methods, threads: 1, processes: 1 }).start();
    });
    after(async () => {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
    });

    async function run(method: keyof M & string, args: unknown[], kwargs: Record<string, unknown>, topic = 'default') {
      await queues.sendInputs(method, args as never, { kwargs, topic });
      return queues.getResult(topic, { timeoutMs: 20_000 });
    }

    it('binds positional, keyword and mixed arguments by name', async () => {
      assert.equal((await run('subtract', [5, 3], {})).value, 2);
      assert.equal((await run('subtract', [], { b: 3, a: 5 })).value, 2);
      assert.equal((await run('subtract', [5], { b: 3, scale: 10 })).value, 20);
    });

    it('fails the task for an unknown keyword, naming it and the parameters', async () => {
      const result = await run('subtract', [5], { c: 3 });
      assert.equal(result.success, false);
      assert.match(result.failureInfo!.message, /Method 'subtract' got an unexpected keyword argument 'c'\. Its parameters: a, b, scale/);
    });

    it('without params, keyword arguments stay one final object argument (documented)', async () => {
      // subtract(a, b, scale) gets scale = { scale: 2 }: (5 - 3) * {…} is NaN.
      assert.ok(Number.isNaN((await run('subtractUndeclared', [5, 3], { scale: 2 })).value));
    });

    it('gives a method that asked for it its task context', async () => {
      const id = await queues.sendInputs('whoAmI', [] as never, { kwargs: { tag: 'x' }, topic: 'sim', resources: { nodeCount: 2, cpuProcesses: 4 } });
      const result = await queues.getResult('sim', { timeoutMs: 20_000 });
      assert.equal(result.success, true, result.failureInfo?.message);
      assert.deepEqual(result.value, {
        tag: 'x',
        taskId: id,
        method: 'whoAmI',
        topic: 'sim',
        resources: { nodeCount: 2, cpuProcesses: 4, cpuThreads: 1 },
        signal: true,
      });
    });

    it('refuses taskContext() to a method that did not ask for it', async () => {
      const result = await run('noContext', [], {});
      assert.equal(result.success, false);
      assert.match(result.failureInfo!.message, /\{ taskContext: true \}/);
    });
  });
}

describe("the task context's stop signal on 'inline'", () => {
  it('fires when the task times out, so a plain function can stop its own work', async () => {
    const methods = { waitForStop: moduleMethod<typeof fixtures.waitForStop>(FIXTURES, 'waitForStop', { executor: 'inline', taskContext: true }) };
    const queues = new LocalQueues<MethodsOf<typeof methods>>();
    const server = new LocalTaskServer(queues, { methods }).start();
    const dir = await mkdtemp(join(tmpdir(), 'colmena-stop-'));
    try {
      const file = join(dir, 'stopped');
      await queues.sendInputs('waitForStop', [file], { timeoutMs: 200 });
      const result = await queues.getResult('default', { timeoutMs: 20_000 });
      assert.equal(result.timedOut, true);
      // The method writes the file once its signal fires (after the timeout's result was sent).
      let written = '';
      const readWritten = async (): Promise<void> => void (written = await readFile(file, 'utf8').catch(() => ''));
      for (let tries = 0; written !== 'stopped' && tries < 1000; tries++) {
        await readWritten();
        if (written !== 'stopped') await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(written, 'stopped', 'the method saw its stop signal');
    } finally {
      await queues.sendKillSignal();
      await server.join();
      await queues.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
