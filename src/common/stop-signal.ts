/**
 * What a running task is stopped through: the part of `AbortSignal` the executors use, so a real
 * `AbortSignal` fits too. The task server makes one per task, and Node's `AbortController` costs
 * several microseconds to create and listen to — a fifth of the whole per-task overhead — so it
 * uses the plain {@link TaskStop} instead.
 */
export interface StopSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
  throwIfAborted(): void;
}

/** A stop signal and its trigger in one small object. Listeners run once, on the first `abort`. */
export class TaskStop implements StopSignal {
  aborted = false;
  reason: unknown = undefined;
  #listeners: (() => void)[] | null = null;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = null;
    if (listeners) for (const listener of listeners) listener();
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.#listeners;
    if (!listeners) return;
    const index = listeners.indexOf(listener);
    if (index >= 0) listeners.splice(index, 1);
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }
}
