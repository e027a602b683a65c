/**
 * A thinker inside a batch job's walltime: when time is up it stops submitting and either lets the
 * tasks in flight finish or leaves them to the next job, so that job can resume from the record.
 */
import { InvalidArgumentError } from '../common/errors.js';
import { describeWalltime, type Walltime, type WalltimeReason } from '../common/deadline.js';
import type { MethodMap } from '../models/method-types.js';
import type { BaseThinker } from './base.js';

export interface ThinkerWalltimeOptions {
  /**
   * When time is up: `'finish'` stops submitting and waits for every task in flight (result
   * processors take their results); `'handBack'` stops submitting and resolves at once, leaving
   * the tasks in flight in the record for the next job to adopt or re-send. Either way, close the
   * run log next and exit.
   * @default 'finish'
   */
  inFlight?: 'finish' | 'handBack';
}

export interface WalltimeOutcome {
  /** `'completed'` if the campaign ended by itself, `'walltime'` if time ran out first. */
  outcome: 'completed' | 'walltime';
  reason: WalltimeReason | null;
}

/**
 * Run a thinker (new, or already started by `resume()`) until it completes or the walltime runs
 * out. On time-out its `done` event is set: task submitters stop, the campaign winds down.
 * @throws AgentFailedError as `join()` does (not with `handBack` once time is up).
 * @example
 * const walltime = new Walltime({ deadline: jobEnd, marginMs: 120_000 });
 * const { outcome } = await runWithinWalltime(thinker, walltime);
 * await runLog.close();
 * process.exit(outcome === 'completed' ? 0 : 3);
 */
export async function runWithinWalltime<M extends MethodMap>(thinker: BaseThinker<M>, walltime: Walltime, options: ThinkerWalltimeOptions = {}): Promise<WalltimeOutcome> {
  const inFlight = options.inFlight ?? 'finish';
  if (inFlight !== 'finish' && inFlight !== 'handBack') {
    throw new InvalidArgumentError(`runWithinWalltime option inFlight must be 'finish' or 'handBack', got ${String(options.inFlight)}`);
  }
  if (thinker.state === 'created') thinker.start();
  let handBack: (() => void) | null = null;
  const handedBack = new Promise<void>((resolve) => (handBack = resolve));
  const onTimeUp = (): void => {
    thinker.logger.warn(
      { reason: describeWalltime(walltime.reason!), inFlight: thinker.queues.activeCount() },
      inFlight === 'finish' ? 'walltime: no new tasks; waiting for those in flight' : 'walltime: no new tasks; leaving those in flight to the next job',
    );
    thinker.done.set();
    if (inFlight === 'handBack') handBack!();
  };
  if (walltime.signal.aborted) onTimeUp();
  else walltime.signal.addEventListener('abort', onTimeUp, { once: true });
  try {
    await Promise.race([thinker.join(), handedBack]);
  } finally {
    walltime.signal.removeEventListener('abort', onTimeUp);
  }
  const reason = walltime.reason;
  return { outcome: reason === null ? 'completed' : 'walltime', reason };
}
