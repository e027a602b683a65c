/** Why a task failed. Built from a thrown error here, or from Python's `exception`/`traceback`. */
export interface FailureInformation {
  /** The error's class name, e.g. `TypeError` or Python's `ValueError`. */
  name: string;
  message: string;
  /** JavaScript stack or Python traceback text. */
  stack: string;
  /** How the task ended when it did not simply throw. */
  reason?: 'error' | 'timeout' | 'cancelled' | 'worker-crashed' | 'unknown-method' | 'invalid-message';
  /** Python's `repr(exception)`, kept verbatim when the failure came from Python Colmena. */
  exception?: string;
}

/** Where a task ran. Extra keys (e.g. Parsl's `PARSL_WORKER_RANK`) are kept as given. */
export interface WorkerInformation {
  hostname: string;
  pid?: number;
  /** Which worker of its pool: a thread id, a process number, a BullMQ worker name. */
  workerId?: string;
  [extra: string]: unknown;
}

/** One failed run of a task that was then retried. */
export interface FailedAttempt {
  failure: FailureInformation;
  workerInfo: WorkerInformation | null;
  computeStarted: number;
  computeEnded: number;
}

export function failureFromError(error: unknown, reason: FailureInformation['reason'] = 'error'): FailureInformation {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack ?? `${error.name}: ${error.message}`, reason };
  }
  const message = typeof error === 'string' ? error : safeString(error);
  return { name: 'Error', message, stack: `thrown value (not an Error): ${message}`, reason };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
