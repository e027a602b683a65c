import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The requests a thinker sent that have no final result yet, and a way to notice that Redis lost
 * them. A Redis restarted without persistence (or flushed, or failed over to an empty replica)
 * forgets every request on the list or under lease and every result not yet read; the thinker
 * would then wait for ever. So the thinker marks the prefix with an epoch key (`<prefix>_epoch`,
 * shared by every thinker on the prefix) and reads it back each time its connection comes back:
 * a missing or changed mark means Redis lost its data, and what is held here is sent again.
 *
 * A task that was running when Redis died then runs twice; the thinker keeps only its first
 * final result. Each request is held (a reference to the string already sent) until its final
 * result arrives.
 */
export class UnansweredRequests {
  readonly #elements = new Map<string, string>();
  #epoch: string | null = null;

  constructor(readonly epochKey: string) {}

  get size(): number {
    return this.#elements.size;
  }

  add(taskId: string, element: string): void {
    this.#elements.set(taskId, element);
  }

  /** The task's final result arrived, or its request was never sent: nothing to send again. */
  delete(taskId: string): void {
    this.#elements.delete(taskId);
  }

  clear(): void {
    this.#elements.clear();
  }

  /**
   * Read the epoch mark (setting it when missing). The first time, this only learns it; after that,
   * resolves with the requests to send again, oldest first, when the mark was gone or changed, and
   * `null` when Redis kept its data.
   */
  async check(redis: Redis): Promise<{ taskId: string; element: string }[] | null> {
    const candidate = randomUUID();
    const previous = (await redis.set(this.epochKey, candidate, 'NX', 'GET')) as string | null;
    const current = previous ?? candidate;
    const known = this.#epoch;
    this.#epoch = current;
    if (known === null || current === known) return null;
    return [...this.#elements].map(([taskId, element]) => ({ taskId, element }));
  }
}
