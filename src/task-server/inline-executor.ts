import { loadModuleMethod } from '../methods/load.js';
import { runMethod, type TaskPayload, type TaskReply, workerInfo } from '../methods/run.js';
import type { MethodSpec } from '../methods/spec.js';
import { failureFromError } from '../models/failure.js';
import type { Executor } from './executor.js';

/** Runs methods on the task server's own event loop: no copy, no thread hop; for async I/O work. */
export class InlineExecutor implements Executor {
  readonly name: string;
  readonly #worker = workerInfo('inline');

  constructor(name = 'inline') {
    this.name = name;
  }

  async run(spec: MethodSpec, payload: TaskPayload): Promise<TaskReply> {
    let fn;
    try {
      if (spec.kind === 'remote') throw new TypeError(`Method '${payload.method}' is remote; the inline executor cannot run it`);
      fn = spec.kind === 'inline' ? spec.fn : await loadModuleMethod(spec.module, spec.exportName);
    } catch (error) {
      return { ...emptyReply(this.#worker), failure: failureFromError(error) };
    }
    return runMethod(fn, payload, this.#worker);
  }

  async close(): Promise<void> {}
}

export function emptyReply(worker: TaskReply['workerInfo']): TaskReply {
  return {
    success: false,
    encodedValue: null,
    failure: null,
    workerInfo: worker,
    computeStarted: NaN,
    computeEnded: NaN,
    running: NaN,
    deserializeInputs: NaN,
    serializeResults: NaN,
  };
}
