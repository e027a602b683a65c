/**
 * What the run log observes, described by shape so that `monitor/` depends on no task server or
 * thinker class: anything with these events can be attached.
 */
import type { Result } from '../../models/result.js';

/** A typed `on(event, listener)` returning the function that unsubscribes, like the library's `Emitter`. */
export interface Observable<Events> {
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void;
}

/** The queue events the run log records (see `QueueEvents` in `queue/base.ts`). */
export interface ObservedQueueEvents {
  sent: Result;
  result: Result;
}

/** The task server events the run log records (see `TaskServerEvents` in `task-server/base.ts`). */
export interface ObservedTaskServerEvents {
  /** `at`: when the server was started (epoch seconds); its workers count from then. */
  started: { methods: readonly string[]; at?: number };
  result: Result;
  stopped: { reason: string };
}

/**
 * The thinker events the run log records. A thinker exposes them as
 * `readonly events: Emitter<...>` with at least these three.
 */
export interface ObservedThinkerEvents {
  /** An agent began running (after its setup). */
  agentStarted: { agent: string };
  /** An agent's body returned (`failed: false`) or threw (`failed: true`). */
  agentStopped: { agent: string; failed: boolean };
  /** One of the thinker's events (an `AsyncEvent` property, named by its property) was set. */
  eventSet: { event: string };
}

/** What a thinker that resumed a campaign reports (see `thinker/resume.ts`). */
export interface ResumeSummary {
  replayed: number;
  adopted: readonly string[];
  resent: readonly { taskId: string; as: string }[];
  abandoned: readonly string[];
}

/** The event a resumable thinker adds to {@link ObservedThinkerEvents}. */
export interface ObservedResumeEvents {
  /** The thinker replayed a record and dealt with its in-flight tasks, before sending anything new. */
  resumed: ResumeSummary;
}

/** One change to a resource counter, as its `change` event carries it. Times are epoch seconds. */
export interface SlotChange {
  kind: string;
  pool?: string | null;
  from?: string | null;
  to?: string | null;
  slots: number;
  timestamp: number;
}

/** The parts of a `ResourceCounter` the run log uses: its `change` event and its pools' state. */
export interface SlotCounter {
  readonly events: Observable<{ change: SlotChange }>;
  snapshot(): readonly { pool: string | null; allocated: number; available: number }[];
}

export interface ObservedQueues {
  readonly events: Observable<ObservedQueueEvents>;
}

export interface ObservedTaskServer {
  readonly events: Observable<ObservedTaskServerEvents>;
}

/** A thinker: its queues, its resource counter (if any), and its events (once it emits them). */
export interface ObservedThinker {
  readonly queues: ObservedQueues;
  readonly resourceCounter: SlotCounter | null;
  readonly events?: Observable<ObservedThinkerEvents>;
}
