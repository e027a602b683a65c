/**
 * Walltime: the moment a batch job must be done by, or the signal its scheduler sends first
 * (Slurm and PBS send SIGTERM, then SIGKILL after a grace period). One `Walltime` turns either
 * into an `AbortSignal` that thinkers, task servers and workers can stop on.
 */
import { InvalidArgumentError } from './errors.js';
import { setLongTimeout } from './limits.js';

export interface WalltimeOptions {
  /** When time is up: a `Date`, or epoch milliseconds. @default none (signals only) */
  deadline?: Date | number | null;
  /**
   * Stop this many milliseconds before the deadline, to leave time for running tasks to finish
   * and the record to be written. @default 0
   */
  marginMs?: number;
  /** Signals that also mean "time is up". @default ['SIGTERM'] */
  signals?: readonly NodeJS.Signals[];
}

/** Why a walltime ran out. */
export type WalltimeReason = { kind: 'deadline'; deadline: Date } | { kind: 'signal'; signal: NodeJS.Signals };

/**
 * Watches a deadline and signals. Its timer is unref'd (it never keeps a process alive); while it
 * watches, the signals no longer end the process by themselves, so call {@link dispose} (or let
 * the signal fire and then exit) once the work is over.
 *
 * @example
 * const walltime = new Walltime({ deadline: Date.now() + 3_600_000, marginMs: 60_000 });
 * walltime.signal.addEventListener('abort', () => thinker.done.set());
 */
export class Walltime {
  readonly #controller = new AbortController();
  readonly #clearTimer: (() => void) | null;
  readonly #signals: readonly NodeJS.Signals[];
  readonly #onSignal = (signal: NodeJS.Signals): void => this.#expire({ kind: 'signal', signal });
  #reason: WalltimeReason | null = null;

  /** @throws InvalidArgumentError for a deadline that is not a date, a negative margin, or an unknown signal name. */
  constructor(options: WalltimeOptions = {}) {
    const marginMs = options.marginMs ?? 0;
    if (!Number.isFinite(marginMs) || marginMs < 0) {
      throw new InvalidArgumentError(`walltime marginMs must be a non-negative number of milliseconds, got ${String(options.marginMs)}`);
    }
    const deadline = options.deadline ?? null;
    const deadlineMs = deadline === null ? null : deadline instanceof Date ? deadline.getTime() : deadline;
    if (deadlineMs !== null && !Number.isFinite(deadlineMs)) {
      throw new InvalidArgumentError(`walltime deadline must be a Date or epoch milliseconds, got ${String(options.deadline)}`);
    }
    this.#signals = [...(options.signals ?? ['SIGTERM'])];
    for (const signal of this.#signals) {
      if (typeof signal !== 'string' || !/^SIG[A-Z0-9]+$/.test(signal)) {
        throw new InvalidArgumentError(`walltime signals must be names such as 'SIGTERM', got ${String(signal)}`);
      }
      process.on(signal, this.#onSignal);
    }
    if (deadlineMs === null) {
      this.#clearTimer = null;
    } else {
      const at = new Date(deadlineMs);
      // A long timer: one setTimeout past ~24.8 days would fire at once.
      this.#clearTimer = setLongTimeout(() => this.#expire({ kind: 'deadline', deadline: at }), Math.max(0, deadlineMs - marginMs - Date.now()), true);
    }
  }

  /** Aborts when time is up; its `reason` is the {@link WalltimeReason}. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Why time ran out, or `null` while it has not. */
  get reason(): WalltimeReason | null {
    return this.#reason;
  }

  /** Stop watching: clear the timer and give the signals back to their default handling. */
  dispose(): void {
    this.#clearTimer?.();
    for (const signal of this.#signals) process.off(signal, this.#onSignal);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #expire(reason: WalltimeReason): void {
    if (this.#reason !== null) return;
    this.#reason = reason;
    this.#clearTimer?.();
    this.#controller.abort(reason);
  }
}

/** Describe a walltime reason for a log line: "deadline 2026-12-01T10:00:00.000Z" or "SIGTERM". */
export function describeWalltime(reason: WalltimeReason): string {
  return reason.kind === 'signal' ? reason.signal : `deadline ${reason.deadline.toISOString()}`;
}

/**
 * When time is up, call `stop` once: a task server's `stop()` (it takes no more requests, finishes
 * the tasks in hand, and sends their results; requests not taken stay on the channel for the next
 * job) or a worker's `close()`. Returns the function that unwires it.
 * @example stopAtWalltime(new Walltime({ deadline: jobEnd, marginMs: 60_000 }), () => server.stop({ abortAfterMs: 30_000 }));
 */
export function stopAtWalltime(walltime: Walltime, stop: (reason: WalltimeReason) => unknown): () => void {
  // At once, not on a later tick: nothing should be taken between the deadline and the stop.
  // A stop that fails is the stopped object's to report (its join() rejects); do not crash here.
  const onTimeUp = (): void => {
    try {
      void Promise.resolve(stop(walltime.reason!)).catch(() => {});
    } catch {
      // as above
    }
  };
  if (walltime.signal.aborted) {
    onTimeUp();
    return () => {};
  }
  walltime.signal.addEventListener('abort', onTimeUp, { once: true });
  return () => walltime.signal.removeEventListener('abort', onTimeUp);
}
