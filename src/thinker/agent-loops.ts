/**
 * The loops behind the special-purpose agents. Each wakes on events (a result, free slots, an
 * event being set, `done`), never on a timer.
 */
import { ThinkerDefinitionError } from '../common/errors.js';
import type { Logger } from '../common/logging.js';
import type { Result } from '../models/result.js';
import type { ColmenaQueues } from '../queue/base.js';
import { AsyncEvent } from './async-event.js';
import type { AgentInfo, AgentRecord } from './metadata.js';
import { Reallocator } from './reallocator.js';
import type { ResourceCounter } from './resource-counter.js';
import { WorkQueue } from './work-queue.js';

/** What an agent loop needs from its thinker. */
export interface AgentHost {
  readonly queues: ColmenaQueues;
  readonly done: AsyncEvent;
  readonly rec: ResourceCounter;
  readonly logger: Logger;
}

type Info<K extends AgentInfo['kind']> = Extract<AgentInfo, { kind: K }>;
type AnyMethod = (this: object, ...args: unknown[]) => unknown;

/** Run the body of one agent until it finishes. */
export function runAgentBody(record: AgentRecord, thinker: AgentHost, barriers: ReadonlyMap<string, EventBarrier>): Promise<void> {
  const method = record.method(thinker) as AnyMethod;
  const { info } = record;
  switch (info.kind) {
    case 'agent':
      return Promise.resolve(method.call(thinker)).then(() => undefined);
    case 'resultProcessor':
      return processResults(thinker, method, info.topic);
    case 'taskSubmitter':
      return submitTasks(thinker, method, info);
    case 'eventResponder':
      return respondToEvent(thinker, method, info, barriers.get(info.eventName)!);
  }
}

// ---- result processors --------------------------------------------------------------------------

const TOPIC_IDLE = new DOMException('No task of the topic is outstanding', 'AbortError');

async function processResults(thinker: AgentHost, method: AnyMethod, topic: string): Promise<void> {
  const { queues, done } = thinker;
  for (;;) {
    let result: Result | null;
    if (!done.isSet()) {
      try {
        result = await queues.getResult(topic, { signal: done.signal });
      } catch (error) {
        if (done.isSet()) continue;
        throw error;
      }
    } else {
      result = await nextOutstandingResult(queues, topic);
      if (result === null) return;
    }
    await method.call(thinker, result);
  }
}

/**
 * After `done`: the next result of the topic, or `null` once no task of it is outstanding. Another
 * processor of the same topic may take the last result, so the wait also ends when the topic
 * goes idle.
 */
async function nextOutstandingResult(queues: ColmenaQueues, topic: string): Promise<Result | null> {
  if (queues.activeCount(topic) === 0) return null;
  const idle = new AbortController();
  queues.waitUntilDone({ topic, signal: idle.signal }).then(
    () => idle.abort(TOPIC_IDLE),
    () => {},
  );
  try {
    return await queues.getResult(topic, { signal: idle.signal });
  } catch (error) {
    if (idle.signal.reason === TOPIC_IDLE) return null;
    throw error;
  } finally {
    idle.abort(TOPIC_IDLE); // detaches the waitUntilDone waiter if it is still pending
  }
}

// ---- task submitters ----------------------------------------------------------------------------

/** Calls in a row with slots free at once, after which a submitter yields to the event loop. */
const UNWAITED_BEFORE_YIELD = 256;

async function submitTasks(thinker: AgentHost, method: AnyMethod, info: Info<'taskSubmitter'>): Promise<void> {
  const { done, rec } = thinker;
  // Resolved to the counter's only pool when the thinker was built (withDefaultPools).
  const pool = info.taskType!;
  const queue = info.workQueue === null ? null : workQueueProperty(thinker, info.workQueue);
  let unwaited = 0;
  for (;;) {
    if (done.isSet() || queue?.exhausted) return;
    const slots = countProperty(thinker, info.nSlots, `@taskSubmitter '${info.name}' nSlots`, 1);
    if (rec.tryAcquire(pool, slots)) {
      // Slots that are always free (a method that gives them straight back) would turn this loop
      // into an endless chain of microtasks; let timers and I/O run now and then.
      if (++unwaited % UNWAITED_BEFORE_YIELD === 0) await new Promise((resolve) => setImmediate(resolve));
    } else {
      try {
        await rec.acquire(pool, slots, { signal: done.signal });
      } catch (error) {
        if (done.isSet()) return;
        throw error;
      }
    }
    if (done.isSet()) {
      rec.release(pool, slots);
      return;
    }
    if (queue === null) {
      await method.call(thinker);
      continue;
    }
    let next: IteratorResult<unknown, undefined>;
    try {
      next = await queue.take({ signal: done.signal });
    } catch (error) {
      rec.release(pool, slots);
      if (done.isSet()) return;
      throw error;
    }
    if (next.done) {
      rec.release(pool, slots);
      return;
    }
    await method.call(thinker, next.value);
  }
}

// ---- event responders ---------------------------------------------------------------------------

/**
 * Where the responders to one event meet after each run: the last to arrive clears the event and
 * lets the others go back to waiting for it.
 */
export class EventBarrier {
  readonly #parties: number;
  readonly #event: AsyncEvent;
  #arrived = 0;
  #passed = new AsyncEvent();

  constructor(event: AsyncEvent, parties: number) {
    this.#event = event;
    this.#parties = parties;
  }

  /** Resolves `true` once every responder has arrived, `false` if `signal` aborts first. */
  async arrive(signal: AbortSignal): Promise<boolean> {
    this.#arrived++;
    if (this.#arrived >= this.#parties) {
      this.#arrived = 0;
      this.#event.clear();
      const passed = this.#passed;
      this.#passed = new AsyncEvent();
      passed.set();
      return true;
    }
    try {
      await this.#passed.wait({ signal });
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      throw error;
    }
  }
}

async function respondToEvent(thinker: AgentHost, method: AnyMethod, info: Info<'eventResponder'>, barrier: EventBarrier): Promise<void> {
  const { done } = thinker;
  const event = eventProperty(thinker, info.eventName);
  const plan = info.reallocation;
  for (;;) {
    try {
      await event.wait({ signal: done.signal });
    } catch (error) {
      if (done.isSet()) return;
      throw error;
    }
    if (done.isSet()) return;
    const reallocator =
      plan === null
        ? null
        : new Reallocator(thinker.rec, {
            gatherFrom: plan.gatherFrom,
            gatherTo: plan.gatherTo,
            disperseTo: plan.disperseTo,
            maxSlots: plan.maxSlots === null ? null : countProperty(thinker, plan.maxSlots, `@eventResponder '${info.name}' maxSlots`, 0),
            slotStep: plan.slotStep,
            logger: thinker.logger,
          }).start();
    try {
      await method.call(thinker);
    } catch (error) {
      // Stop borrowing, but do not wait for the slots to come back: the failed method may still
      // hold some, and waiting for them would keep the thinker from finishing.
      reallocator?.stop().catch((stopError: unknown) => thinker.logger.error({ err: stopError }, 'returning borrowed slots failed'));
      throw error;
    }
    await reallocator?.stop();
    if (!(await barrier.arrive(done.signal))) return;
  }
}

// ---- thinker properties named by decorator options ----------------------------------------------

function property(thinker: AgentHost, name: string): unknown {
  return (thinker as unknown as Record<string, unknown>)[name];
}

export function eventProperty(thinker: AgentHost, name: string): AsyncEvent {
  const value = property(thinker, name);
  if (!(value instanceof AsyncEvent)) {
    throw new ThinkerDefinitionError(
      `@eventResponder({ eventName: '${name}' }): the thinker's '${name}' property must be an AsyncEvent, got ${describe(value)}. ` +
        `Declare it as a field: \`readonly ${name} = new AsyncEvent();\``,
    );
  }
  return value;
}

export function workQueueProperty(thinker: AgentHost, name: string): WorkQueue<unknown> {
  const value = property(thinker, name);
  if (!(value instanceof WorkQueue)) {
    throw new ThinkerDefinitionError(
      `@taskSubmitter({ workQueue: '${name}' }): the thinker's '${name}' property must be a WorkQueue, got ${describe(value)}. ` +
        `Declare it as a field: \`readonly ${name} = new WorkQueue<Item>();\``,
    );
  }
  return value;
}

/** A count given as a number or as the name of a numeric property of the thinker. */
export function countProperty(thinker: AgentHost, count: number | string, what: string, minimum: number): number {
  const value = typeof count === 'number' ? count : property(thinker, count);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    const source = typeof count === 'string' ? `the thinker's '${count}' property` : 'the value';
    throw new ThinkerDefinitionError(`${what}: ${source} must be an integer of at least ${minimum}, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined (no such property)';
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
