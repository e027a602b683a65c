/**
 * Every bound on what a message may ask for, in one place. A request on the wire is data from
 * another process (possibly another language, possibly hostile or broken): each field it sets is
 * capped here, with a default and the option that changes it, so nothing a message says can make a
 * task server spin, allocate without bound, or arm a timer that fires at once.
 */
import { InvalidArgumentError } from './errors.js';

export interface WireLimits {
  /** Retries a request may ask for; larger `max_retries` are capped to this. @default 100 */
  maxRetries: number;
  /**
   * Longest `timeoutMs` (or deadline) accepted, in ms. Longer ones are refused with a clear error;
   * anything up to it is honoured even past what one Node timer holds (2³¹−1 ms).
   * @default 365 days
   */
  maxTimeoutMs: number;
  /** Longest task id, in characters. @default 256 */
  maxIdLength: number;
  /** Longest topic or method name, in characters. @default 256 */
  maxNameLength: number;
  /** Deepest nesting of arrays and objects in a message. @default 128 */
  maxNestingDepth: number;
  /** Largest message sent or accepted, in bytes. @default 512 MiB (Redis' own limit on a value) */
  maxMessageBytes: number;
  /** Cancel requests for tasks not seen yet that a task server remembers. @default 10 000 */
  maxEarlyCancels: number;
}

/** The longest delay one `setTimeout` holds; longer ones fire after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const DEFAULT_WIRE_LIMITS: Readonly<WireLimits> = Object.freeze({
  maxRetries: 100,
  maxTimeoutMs: 365 * 24 * 3600 * 1000,
  maxIdLength: 256,
  maxNameLength: 256,
  maxNestingDepth: 128,
  maxMessageBytes: 512 * 1024 * 1024,
  maxEarlyCancels: 10_000,
});

/**
 * Check a timeout given by a caller (not the wire) against the limits.
 * @throws InvalidArgumentError naming the option, the range and what was given.
 */
export function checkTimeoutMs(value: number | undefined | null, option: string, limits: WireLimits = DEFAULT_WIRE_LIMITS): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !(value >= 0) || value > limits.maxTimeoutMs) {
    throw new InvalidArgumentError(`${option} must be a number of milliseconds from 0 to ${limits.maxTimeoutMs} (limits.maxTimeoutMs), got ${String(value)}`);
  }
}

/**
 * `setTimeout` for any delay up to {@link WireLimits.maxTimeoutMs}: delays past one timer's reach
 * are chained, so `3e9` ms means 3e9 ms rather than 1 ms. Returns a function that clears it.
 * With `unref`, the timer never keeps the process alive.
 */
export function setLongTimeout(callback: () => void, delayMs: number, unref = false): () => void {
  let timer: NodeJS.Timeout;
  let cleared = false;
  const due = performance.now() + delayMs;
  const arm = (): void => {
    const left = due - performance.now();
    if (left > MAX_TIMER_MS) {
      timer = setTimeout(arm, MAX_TIMER_MS);
    } else {
      timer = setTimeout(() => {
        if (!cleared) callback();
      }, Math.max(0, left));
    }
    if (unref) timer.unref();
  };
  arm();
  return () => {
    cleared = true;
    clearTimeout(timer);
  };
}
