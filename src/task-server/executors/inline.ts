import { isExecutableMethod } from '../../methods/executable.js';
import { loadModuleMethod } from '../../methods/load.js';
import type { TaskPayload, TaskReply } from '../../methods/envelope.js';
import { failedReply, type RunContext, runMethod, workerInfo } from '../../methods/run.js';
import type { MethodSpec } from '../../methods/spec.js';
import { replyOnAbort } from '../abort-reply.js';
import type { Executor } from '../executor.js';
import type { MethodKind } from '../fit.js';
import { unpinnable } from './accelerators.js';

/**
 * Runs methods on the task server's own event loop: no copy, no thread hop; for async I/O work
 * and for executables (spawning does not block). A cancelled or timed-out plain function cannot be
 * stopped here, only abandoned: its result is dropped. Generators stop between yields, and
 * executables are killed.
 */
export class InlineExecutor implements Executor {
  readonly name: string;
  readonly sharesMemory = true;
  readonly runs: readonly MethodKind[] = ['function', 'executable', 'module-function', 'module-executable'];
  readonly #worker = workerInfo('inline');

  constructor(name = 'inline') {
    this.name = name;
  }

  async run(spec: MethodSpec, payload: TaskPayload, context: RunContext): Promise<TaskReply> {
    let target;
    try {
      if (spec.kind === 'remote') throw new TypeError(`Method '${payload.method}' is remote; the inline executor cannot run it`);
      const unpinned = unpinnable(payload, this.name);
      if (unpinned) throw unpinned;
      target = spec.kind === 'inline' ? spec.fn : await loadModuleMethod(spec.module, spec.exportName);
    } catch (error) {
      return failedReply(this.#worker, error);
    }
    // An executable's result waits for its kill to complete: "timed out" means nothing it started runs on.
    if (isExecutableMethod(target)) return runMethod(target, payload, this.#worker, context);
    const aborted = replyOnAbort(context.signal, this.#worker);
    try {
      return await Promise.race([runMethod(target, payload, this.#worker, context), aborted.reply]);
    } finally {
      aborted.dispose();
    }
  }

  /** For `await using`: the same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {}
}
