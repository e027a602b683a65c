import type { MethodMap } from '../models/method-types.js';
import type { Result } from '../models/result.js';
import type { WaitOptions } from '../common/abort.js';
import { AsyncQueue } from '../common/async-queue.js';
import { ColmenaQueues, type QueuesOptions, type ServerMessage } from './base.js';

const KILL: ServerMessage = { kind: 'kill' };

/**
 * Queues inside one process: the embedded default, with no services to run. Thinker and task
 * server share this object; requests and results move as objects (inputs and values are still
 * encoded, so sizes and timings match the networked transports and the caller may reuse its
 * arguments as soon as `sendInputs` returns).
 */
export class LocalQueues<M extends MethodMap = MethodMap> extends ColmenaQueues<M> {
  readonly #requests = new AsyncQueue<ServerMessage>();

  constructor(options: QueuesOptions = {}) {
    super(options);
  }

  /** Requests waiting for the task server. */
  get pendingRequests(): number {
    return this.#requests.size;
  }

  protected override async pushRequest(task: Result): Promise<void> {
    this.#requests.push({ kind: 'task', task });
  }

  protected override async pushKillSignal(): Promise<void> {
    this.#requests.push(KILL);
  }

  protected override async pushCancel(taskId: string): Promise<void> {
    this.#requests.push({ kind: 'cancel', taskId });
  }

  protected override popRequest(options: WaitOptions): Promise<ServerMessage> {
    return this.#requests.shift('a task request', options);
  }

  protected override async pushResult(result: Result): Promise<void> {
    this.deliver(result);
  }

  protected override listenForResults(): void {
    // Results are delivered directly by pushResult.
  }

  protected override async clearChannels(): Promise<void> {
    this.#requests.clear();
  }

  protected override async closeTransport(): Promise<void> {
    this.#requests.close();
  }
}
