import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The requests a thinker sent and has not yet seen through, and a way to notice that Redis lost
 * them. A Redis restarted without persistence (or flushed, or failed over to an empty replica)
 * forgets every request on the list or under lease and every result not yet read; the thinker
 * would then wait for ever. So the thinker marks the prefix with an epoch key (`<prefix>_epoch`,
 * shared by every thinker on the prefix) and reads it back each time its connection comes back:
 * a missing or changed mark means Redis lost its data, and what is held here is sent again.
 *
 * A task that was running when Redis died then runs twice; the thinker keeps only its first
 * final result. Each request is held (a reference to the string already sent) until its task
 * retires.
 */
export class UnansweredRequests {
  readonly #elements = new Map<string, string>();
  #epoch: string | null = null;

  constructor(readonly epochKey: string) {}

  add(taskId: string, element: string): void {
    this.#elements.set(taskId, element);
  }

  delete(taskId: string): void {
    this.#elements.delete(taskId);
  }

  /** Task ids and their request elements, oldest first. */
  entries(): IterableIterator<[string, string]> {
    return this.#elements.entries();
  }

  /**
   * Read the epoch mark, setting it when missing: whether it was gone or changed since the last
   * call. The first call only learns it.
   */
  async lostData(redis: Redis): Promise<boolean> {
    const candidate = randomUUID();
    const current = ((await redis.set(this.epochKey, candidate, 'NX', 'GET')) as string | null) ?? candidate;
    const known = this.#epoch;
    this.#epoch = current;
    return known !== null && current !== known;
  }
}
