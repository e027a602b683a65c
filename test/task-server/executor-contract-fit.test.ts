/**
 * Fit between methods and executors, checked when the task server is built (kinds each executor
 * runs) and when it starts (each module method's export, loaded once).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExecutableMethod } from '../../src/methods/executable.js';
import { inlineMethod, type MethodSpec, moduleMethod, remoteMethod } from '../../src/methods/spec.js';
import { LocalQueues } from '../../src/queue/local.js';
import { InlineExecutor } from '../../src/task-server/executors/inline.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { CONTRACT_METHODS } from './executor-contract.js';

process.env.COLMENA_LOG_LEVEL ??= 'silent';

describe('fit of methods to executors, when the server is built', () => {
  const build = (methods: Record<string, MethodSpec>) => () => new LocalTaskServer(new LocalQueues(), { methods, threads: 1, processes: 1 });

  it('refuses an inline function on threads or processes, naming the method, the executor and the fix', () => {
    assert.throws(build({ double: inlineMethod((x: number) => 2 * x, { executor: 'threads' }) }), (error: Error) => {
      assert.equal(error.name, 'InvalidArgumentError');
      assert.match(error.message, /Method 'double' is an inline function .* executor 'threads' runs only module-function\. Export it from a module and declare it with moduleMethod\(.*'double', \{ executor: 'threads' \}\)/);
      return true;
    });
    assert.throws(build({ double: inlineMethod((x: number) => 2 * x, { executor: 'processes' }) }), /Method 'double' is an inline function.*executor 'processes'/);
  });

  it('refuses an executable on threads, which could not kill it, and a remote method on local executors', () => {
    const program = new ExecutableMethod<[], string>({ command: ['true'] });
    assert.throws(build({ run: inlineMethod(program, { executor: 'threads' }) }), /Method 'run' is an inline ExecutableMethod.*executor 'threads' runs only module-function.*built in: inline/);
    assert.throws(build({ far: remoteMethod({ executor: 'processes' }) }), /Method 'far' is a remote method.*executor 'processes'.*built in: BullmqExecutor/);
  });

  it('accepts every kind on an executor that does not declare what it runs', () => {
    const custom = new InlineExecutor('custom');
    Object.defineProperty(custom, 'runs', { value: undefined });
    assert.doesNotThrow(() => new LocalTaskServer(new LocalQueues(), { methods: { far: remoteMethod({ executor: 'custom' }) }, executors: { custom } }));
  });
});

describe('module method exports, when the server starts', () => {
  it('stops the server at once on a misspelt export, naming the module and the exports it has', async () => {
    const queues = new LocalQueues();
    const server = new LocalTaskServer(queues, { methods: { echo: moduleMethod(CONTRACT_METHODS, 'ecoh') }, threads: 1 }).start();
    await assert.rejects(server.join(), (error: Error) => {
      assert.match(error.message, /Method 'echo': module file:.*contract-methods\.ts has no function or ExecutableMethod export 'ecoh'\. Its exports: .*\badd\b.*\becho\b/);
      return true;
    });
    assert.equal(server.state, 'stopped');
    await queues.close();
  });

  it('refuses an ExecutableMethod export on threads once loaded, and runs it on processes', async () => {
    const onThreads = new LocalTaskServer(new LocalQueues(), { methods: { program: moduleMethod(CONTRACT_METHODS, 'trueProgram') }, threads: 1 }).start();
    await assert.rejects(onThreads.join(), /Method 'program' is an ExecutableMethod exported from a module, but its executor 'threads' runs only module-function/);

    const queues = new LocalQueues();
    const onProcesses = new LocalTaskServer(queues, {
      methods: { program: moduleMethod(CONTRACT_METHODS, 'trueProgram', { executor: 'processes' }) },
      processes: 1,
    }).start();
    try {
      await queues.sendInputs('program', []);
      const result = await queues.getResult('default', { timeoutMs: 30_000 });
      assert.equal(result.success, true, result.failureInfo?.message);
    } finally {
      await queues.sendKillSignal();
      await onProcesses.join();
      await queues.close();
    }
  });
});
