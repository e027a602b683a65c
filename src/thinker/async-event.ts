import { childLogger } from '../common/logging.js';
import { throwIfAborted, type WaitOptions, watchWait } from '../common/abort.js';

/**
 * A flag that agents can set, clear, and await: the promise-based counterpart of Python's
 * `threading.Event`. Waiters wake the moment the flag is set; nothing polls.
 *
 * @example
 * readonly retrain = new AsyncEvent();
 * // one agent: this.retrain.set();
 * // another:   await this.retrain.wait({ signal: this.done.signal });
 */
export class AsyncEvent {
  #set = false;
  #waiters = new Set<() => void>();
  #controller: AbortController | null = null;
  #observers: Set<() => void> | null = null;

  /** Whether the flag is set now. */
  isSet(): boolean {
    return this.#set;
  }

  /** Set the flag and wake every waiter. Setting a set flag does nothing. */
  set(): void {
    if (this.#set) return;
    this.#set = true;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
    this.#controller?.abort(eventSetReason());
    if (this.#observers !== null) {
      for (const observer of this.#observers) {
        try {
          observer();
        } catch (error) {
          childLogger('thinker.events').error({ err: error }, 'an AsyncEvent observer failed');
        }
      }
    }
  }

  /**
   * Call `observer` (synchronously) each time the flag goes from clear to set: for run logs and
   * dashboards. Returns the function that unsubscribes. An observer that throws is logged.
   */
  onSet(observer: () => void): () => void {
    this.#observers ??= new Set();
    const observers = this.#observers;
    const subscription = (): void => observer();
    observers.add(subscription);
    return () => void observers.delete(subscription);
  }

  /** Clear the flag; later waits block until the next {@link set}. */
  clear(): void {
    if (!this.#set) return;
    this.#set = false;
    this.#controller = null;
  }

  /**
   * Resolve once the flag is set (at once if it is set now).
   *
   * @throws ColmenaTimeoutError after `timeoutMs`; the signal's reason when `signal` aborts.
   */
  wait(options: WaitOptions = {}): Promise<void> {
    if (this.#set) return Promise.resolve();
    try {
      throwIfAborted(options.signal);
    } catch (reason) {
      return Promise.reject(reason);
    }
    return new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        detach();
        resolve();
      };
      const detach = watchWait('an event to be set', options, (reason) => {
        this.#waiters.delete(wake);
        reject(reason);
      });
      this.#waiters.add(wake);
    });
  }

  /**
   * An `AbortSignal` that aborts when the flag is next set (already aborted if it is set now):
   * pass it to any wait that should end when this event fires, e.g.
   * `queues.getResult('sim', { signal: this.done.signal })`. After {@link clear}, a fresh
   * signal is handed out.
   */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#set) this.#controller.abort(eventSetReason());
    }
    return this.#controller.signal;
  }

  /** Number of pending {@link wait} calls. */
  get waiting(): number {
    return this.#waiters.size;
  }
}

/** What a wait tied to {@link AsyncEvent.signal} rejects with: an `AbortError`. */
function eventSetReason(): DOMException {
  return new DOMException('The wait was cancelled because an event was set', 'AbortError');
}
