import { type WaitOptions, throwIfAborted, watchWait } from '../common/abort.js';

/** What is known of one active task: one record per task, so one map lookup serves every question. */
interface ActiveTask {
  topic: string;
  method: string;
  /** Its final result was handed to a topic buffer (not necessarily taken yet). */
  finalDelivered: boolean;
}

interface DoneWaiter {
  topic: string | null;
  resolve(): void;
}

/**
 * The tasks a client has sent and not yet seen a final result for, by topic, with waiters for
 * "none left". Counting happens before a request goes out and only a final result uncounts it,
 * so a waiter can never be woken while a task is still on its way.
 */
export class ActiveTasks {
  readonly #tasks = new Map<string, ActiveTask>();
  readonly #countByTopic = new Map<string, number>();
  #waiters: DoneWaiter[] = [];

  constructor(topics: readonly string[]) {
    for (const topic of topics) this.#countByTopic.set(topic, 0);
  }

  get size(): number {
    return this.#tasks.size;
  }

  has(taskId: string): boolean {
    return this.#tasks.has(taskId);
  }

  ids(): string[] {
    return [...this.#tasks.keys()];
  }

  /** Active tasks of a topic; `undefined` for a topic not tracked. */
  countOf(topic: string): number | undefined {
    return this.#countByTopic.get(topic);
  }

  /** The topic and method of an active task, or `undefined`. */
  get(taskId: string): { readonly topic: string; readonly method: string; readonly finalDelivered: boolean } | undefined {
    return this.#tasks.get(taskId);
  }

  add(taskId: string, topic: string, method = ''): void {
    this.#tasks.set(taskId, { topic, method, finalDelivered: false });
    this.#countByTopic.set(topic, this.#countByTopic.get(topic)! + 1);
  }

  /**
   * Note that an active task's final result was delivered. Returns `false` when the task is not
   * active, or its final result was already delivered (the caller drops this one).
   */
  markFinalDelivered(taskId: string): boolean {
    const task = this.#tasks.get(taskId);
    if (task === undefined || task.finalDelivered) return false;
    task.finalDelivered = true;
    return true;
  }

  /** Uncount a task; returns its topic, or `undefined` when it was not active. */
  remove(taskId: string): string | undefined {
    const task = this.#tasks.get(taskId);
    if (task === undefined) return undefined;
    const topic = task.topic;
    this.#tasks.delete(taskId);
    const left = this.#countByTopic.get(topic)! - 1;
    this.#countByTopic.set(topic, left);
    if (this.#waiters.length > 0) this.#wake(topic, left);
    return topic;
  }

  /** Resolve once no task (of the topic, if given) is active; at once if none is. */
  waitUntilNone(topic: string | null, options: WaitOptions): Promise<void> {
    if ((topic === null ? this.size : this.countOf(topic)) === 0) return Promise.resolve();
    throwIfAborted(options.signal);
    return new Promise<void>((resolve, reject) => {
      const waiter: DoneWaiter = {
        topic,
        resolve: () => {
          detach();
          resolve();
        },
      };
      const detach = watchWait(topic ? `tasks of topic '${topic}' to finish` : 'all tasks to finish', options, (reason) => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(reason);
      });
      this.#waiters.push(waiter);
    });
  }

  #wake(topic: string, left: number): void {
    const total = this.size;
    if (left > 0 && total > 0) return;
    const still: DoneWaiter[] = [];
    for (const waiter of this.#waiters) {
      if ((waiter.topic === null && total === 0) || (waiter.topic === topic && left === 0)) waiter.resolve();
      else still.push(waiter);
    }
    this.#waiters = still;
  }
}
