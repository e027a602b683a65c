import { InvalidArgumentError } from '../common/errors.js';
import type { FailureInformation } from '../models/failure.js';

type FailureReason = NonNullable<FailureInformation['reason']>;

/** When and how soon a task server re-runs a failed task (within the task's own `maxRetries`). */
export interface RetryPolicy {
  /** Wait before the first retry, in ms. @default 50 */
  initialDelayMs?: number;
  /** Each further wait is this many times the last. @default 2 */
  factor?: number;
  /** Longest wait between tries, in ms. @default 5000 */
  maxDelayMs?: number;
  /** Each wait is shortened by a random part of up to this fraction of it, so retries spread out. @default 0.5 */
  jitter?: number;
  /**
   * Failure reasons that are retried. Add `'timeout'` to retry tasks that ran out of time.
   * Cancelled tasks are never retried.
   * @default ['error', 'worker-crashed']
   */
  retryReasons?: readonly FailureReason[];
  /**
   * Error names never retried, because running again fails the same way: a bug in the method, or
   * inputs that cannot be decoded (`SerializationError`).
   * @default ['TypeError', 'ReferenceError', 'SyntaxError', 'SerializationError']
   */
  neverRetryErrorNames?: readonly string[];
  /** A task asking for more retries (`max_retries` on the wire) gets this many. @default 100 (see limits.ts) */
  maxRetriesCap?: number;
}

export type ResolvedRetryPolicy = Required<RetryPolicy>;

export function resolveRetryPolicy(policy: RetryPolicy = {}, maxRetriesCap: number): ResolvedRetryPolicy {
  const resolved: ResolvedRetryPolicy = {
    initialDelayMs: policy.initialDelayMs ?? 50,
    factor: policy.factor ?? 2,
    maxDelayMs: policy.maxDelayMs ?? 5000,
    jitter: policy.jitter ?? 0.5,
    retryReasons: policy.retryReasons ?? ['error', 'worker-crashed'],
    neverRetryErrorNames: policy.neverRetryErrorNames ?? ['TypeError', 'ReferenceError', 'SyntaxError', 'SerializationError'],
    maxRetriesCap: policy.maxRetriesCap ?? maxRetriesCap,
  };
  for (const key of ['initialDelayMs', 'maxDelayMs', 'maxRetriesCap'] as const) {
    if (!(resolved[key] >= 0) || !Number.isFinite(resolved[key])) {
      throw new InvalidArgumentError(`retry.${key} must be a non-negative number, got ${String(resolved[key])}`);
    }
  }
  if (!(resolved.factor >= 1)) throw new InvalidArgumentError(`retry.factor must be at least 1, got ${String(resolved.factor)}`);
  if (!(resolved.jitter >= 0 && resolved.jitter <= 1)) {
    throw new InvalidArgumentError(`retry.jitter must be between 0 and 1, got ${String(resolved.jitter)}`);
  }
  return resolved;
}

/** Whether a failure of this kind is worth another try under the policy. */
export function isRetryable(failure: FailureInformation | null, policy: ResolvedRetryPolicy): boolean {
  if (!failure) return false;
  const reason = failure.reason ?? 'error';
  if (reason === 'cancelled') return false;
  if (!policy.retryReasons.includes(reason)) return false;
  return !policy.neverRetryErrorNames.includes(failure.name);
}

/** The wait before retry number `retry` (1 for the first), exponential, bounded, with jitter. */
export function retryDelayMs(retry: number, policy: ResolvedRetryPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.initialDelayMs * policy.factor ** Math.max(0, retry - 1), policy.maxDelayMs);
  return base * (1 - policy.jitter * random());
}
