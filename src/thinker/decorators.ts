import { ThinkerDefinitionError } from '../common/errors.js';
import type { MethodMap, AnyResult } from '../models/method-types.js';
import type { Result } from '../models/result.js';
import type { AsyncEvent } from './async-event.js';
import type { BaseThinker } from './base.js';
import { type AgentInfo, type ReallocationPlan, registerAgent } from './metadata.js';
import type { WorkQueue } from './work-queue.js';

// ---- option types -------------------------------------------------------------------------------

export interface AgentOptions {
  /**
   * A startup agent prepares the campaign (fills a queue, allocates slots) and returning from it
   * does not end the run. When any other agent returns, `done` is set and the rest wind down. An
   * agent that throws always sets `done`. @default false
   */
  startup?: boolean;
}

export interface ResultProcessorOptions {
  /** Topic whose results the agent is called with. @default 'default' */
  topic?: string;
}

export interface TaskSubmitterOptions {
  /** Resource pool to take slots from before each call. @default the ResourceCounter's only pool */
  taskType?: string;
  /** Slots to take per call: a number, or the name of a numeric property of the thinker. @default 1 */
  nSlots?: number | string;
  /**
   * Name of a {@link WorkQueue} property of the thinker. When given, the method is called with the
   * next item of that queue once the slots are taken, and the agent returns once the queue is
   * closed and empty.
   */
  workQueue?: string;
}

export interface EventResponderOptions {
  /** Name of an {@link AsyncEvent} property of the thinker; the method runs each time it is set. */
  eventName: string;
  /** Borrow slots in the background while the method runs. @default false */
  reallocateResources?: boolean;
  /** Pool to borrow from (`null`: unallocated slots). Required with `reallocateResources`. */
  gatherFrom?: string | null;
  /** Pool that receives the borrowed slots. Required with `reallocateResources`. */
  gatherTo?: string | null;
  /** Pool that gets every slot of `gatherTo` after the method returns. Required with `reallocateResources`. */
  disperseTo?: string | null;
  /** Cap on the slots `gatherTo` holds: a number, a numeric property's name, or `null` for none. @default null */
  maxSlots?: number | string | null;
  /** Slots borrowed per step. @default 1 */
  slotStep?: number;
}

// ---- typing helpers -----------------------------------------------------------------------------

/**
 * Any thinker, whatever its methods. (`ColmenaQueues<M>` is invariant in `M`, so a subclass of
 * `BaseThinker<MyMethods>` is not a `BaseThinker<MethodMap>`.)
 */
// `any` is the only way to accept thinkers typed by every method map.
export type AnyThinker = BaseThinker<any>;
// a queue of any items (WorkQueue<T> is invariant in T).
type AnyWorkQueue = WorkQueue<any>;

/** The thinker must have a property `K` of type `V` (only when `K` is a property name). */
type Host<K, V> = [K] extends [string] ? { readonly [P in K]: V } : unknown;
type OptionOf<O, F extends string> = O extends { readonly [P in F]?: infer V } ? V : undefined;
type ItemOf<This, K> = K extends keyof This ? (This[K] extends WorkQueue<infer T> ? T : never) : never;
/** What a result processor of a thinker receives: narrowed by method when the queues are typed. */
export type ResultOf<This> = This extends BaseThinker<infer M extends MethodMap> ? AnyResult<M> : Result;

type Method<This, Args extends unknown[]> = (this: This, ...args: Args) => unknown;
type Context<This, Args extends unknown[]> = ClassMethodDecoratorContext<This, Method<This, Args>>;

/** A decorator for thinker methods taking `Args`. */
export type ThinkerMethodDecorator<Base, Args extends unknown[] = []> = <This extends Base>(
  value: Method<This, Args>,
  context: Context<This, Args>,
) => void;

type SubmitterArgs<This, O> = [OptionOf<O, 'workQueue'>] extends [string] ? [item: ItemOf<This, OptionOf<O, 'workQueue'>>] : [];

// ---- decorators ---------------------------------------------------------------------------------

/**
 * Mark a method as an agent: it is started by `run()` and runs alongside the others.
 * @example
 * \@agent({ startup: true })
 * async allocate() { await this.rec.reallocate(null, 'sim', 4); }
 */
export function agent<This extends AnyThinker>(value: Method<This, []>, context: Context<This, []>): void;
export function agent(options?: AgentOptions): ThinkerMethodDecorator<AnyThinker>;
export function agent(first?: AgentOptions | Method<AnyThinker, []>, second?: Context<AnyThinker, []>): void | ThinkerMethodDecorator<AnyThinker> {
  if (typeof first === 'function') {
    decorate('@agent', first, second, { kind: 'agent', name: '', startup: false }, 0);
    return;
  }
  const options = checkOptions('@agent', first ?? {}, ['startup']);
  const startup = options.startup ?? false;
  if (typeof startup !== 'boolean') fail(`@agent({ startup }): startup must be true or false, got ${String(startup)}`);
  return (value, context) => decorate('@agent', value, context, { kind: 'agent', name: '', startup }, 0);
}

/**
 * Mark a method as a result processor: it is called with each result of its topic, one at a time.
 * Once `done` is set it keeps going until no task of the topic is outstanding. Bare
 * (`@resultProcessor`, topic `default`) or called (`@resultProcessor({ topic })`), as in Colmena.
 * @example
 * \@resultProcessor({ topic: 'sim' })
 * async store(result: Result) { this.rec.release('sim', 1); this.database.push(result.value); }
 */
export function resultProcessor<This extends AnyThinker>(value: Method<This, [result: ResultOf<This>]>, context: Context<This, [result: ResultOf<This>]>): void;
export function resultProcessor<O extends ResultProcessorOptions>(options?: O): <This extends AnyThinker>(
  value: Method<This, [result: ResultOf<This>]>,
  context: Context<This, [result: ResultOf<This>]>,
) => void;
export function resultProcessor(
  options?: ResultProcessorOptions | Method<AnyThinker, [result: Result]>,
  bareContext?: Context<AnyThinker, [result: Result]>,
): void | ((value: Method<AnyThinker, [result: Result]>, context: Context<AnyThinker, [result: Result]>) => void) {
  if (typeof options === 'function') {
    decorate('@resultProcessor', options, bareContext, { kind: 'resultProcessor', name: '', startup: false, topic: 'default' }, 1);
    return;
  }
  const topic = checkOptions<ResultProcessorOptions>('@resultProcessor', options ?? {}, ['topic']).topic ?? 'default';
  if (typeof topic !== 'string' || topic.length === 0) fail(`@resultProcessor({ topic }): topic must be a non-empty string, got ${JSON.stringify(topic)}`);
  return (value, context) => decorate('@resultProcessor', value, context, { kind: 'resultProcessor', name: '', startup: false, topic }, 1);
}

/**
 * Mark a method as a task submitter: it is called each time `nSlots` slots of the `taskType` pool
 * have been acquired for it, until `done` is set. The method owns those slots (release them when
 * the task's result arrives). With `workQueue`, it is called with the next item of that queue.
 * Without a `taskType` (bare `@taskSubmitter`, or `@taskSubmitter()`), the pool is the
 * ResourceCounter's only one; a counter with several pools is refused when the thinker is built.
 * @example
 * \@taskSubmitter({ taskType: 'sim', nSlots: 'slotsPerTask', workQueue: 'todo' })
 * async submit(x: number) { await this.queues.sendInputs('simulate', [x], { topic: 'sim' }); }
 */
export function taskSubmitter<This extends AnyThinker>(value: Method<This, []>, context: Context<This, []>): void;
export function taskSubmitter<const O extends TaskSubmitterOptions = Record<never, never>>(
  options?: O,
): <This extends AnyThinker & Host<OptionOf<O, 'nSlots'>, number> & Host<OptionOf<O, 'workQueue'>, AnyWorkQueue>>(
  value: Method<This, SubmitterArgs<This, O>>,
  context: Context<This, SubmitterArgs<This, O>>,
) => void;
export function taskSubmitter(
  options: TaskSubmitterOptions | Method<AnyThinker, []> = {},
  bareContext?: Context<AnyThinker, []>,
): void | ((value: Method<AnyThinker, [item?: unknown]>, context: Context<AnyThinker, [item?: unknown]>) => void) {
  if (typeof options === 'function') {
    const info: AgentInfo = { kind: 'taskSubmitter', name: '', startup: false, taskType: undefined, nSlots: 1, workQueue: null };
    decorate('@taskSubmitter', options, bareContext, info, 0);
    return;
  }
  const checked = checkOptions('@taskSubmitter', options, ['taskType', 'nSlots', 'workQueue']);
  const { taskType, nSlots = 1, workQueue } = checked;
  if (taskType !== undefined && (typeof taskType !== 'string' || taskType.length === 0)) {
    fail(`@taskSubmitter({ taskType }): taskType must name a resource pool (or be left out for the counter's only pool), got ${JSON.stringify(taskType)}`);
  }
  checkCountOrName(`@taskSubmitter({ nSlots })`, nSlots, false);
  if (workQueue !== undefined && (typeof workQueue !== 'string' || workQueue.length === 0)) {
    fail(`@taskSubmitter({ workQueue }): workQueue must name a WorkQueue property of the thinker, got ${JSON.stringify(workQueue)}`);
  }
  const info: AgentInfo = { kind: 'taskSubmitter', name: '', startup: false, taskType, nSlots, workQueue: workQueue ?? null };
  return (value, context) => decorate('@taskSubmitter', value, context, info, workQueue === undefined ? 0 : 1);
}

/**
 * Mark a method as an event responder: it runs each time the AsyncEvent property `eventName` is
 * set; the event is cleared once every responder to it has finished. With
 * `reallocateResources`, slots move from `gatherFrom` to `gatherTo` in the background while it
 * runs (up to `maxSlots`, `slotStep` at a time) and all go to `disperseTo` when it returns.
 * @example
 * \@eventResponder({ eventName: 'retrain', reallocateResources: true, gatherFrom: 'sim', gatherTo: 'ml', disperseTo: 'sim', maxSlots: 2 })
 * async train() { await this.rec.acquire('ml', 2); ... }
 */
export function eventResponder<const O extends EventResponderOptions>(
  options: O,
): <This extends AnyThinker & Host<O['eventName'], AsyncEvent> & Host<OptionOf<O, 'maxSlots'>, number>>(
  value: Method<This, []>,
  context: Context<This, []>,
) => void {
  const checked = checkOptions('@eventResponder', options, [
    'eventName',
    'reallocateResources',
    'gatherFrom',
    'gatherTo',
    'disperseTo',
    'maxSlots',
    'slotStep',
  ]);
  const { eventName, reallocateResources = false } = checked;
  if (typeof eventName !== 'string' || eventName.length === 0) {
    fail(`@eventResponder({ eventName }): eventName must name an AsyncEvent property of the thinker, got ${JSON.stringify(eventName)}`);
  }
  if (eventName === 'done') fail(`@eventResponder({ eventName: 'done' }): responders stop when 'done' is set, so they cannot respond to it; use another AsyncEvent`);
  let reallocation: ReallocationPlan | null = null;
  if (reallocateResources) {
    for (const key of ['gatherFrom', 'gatherTo', 'disperseTo'] as const) {
      const pool = checked[key];
      if (pool === undefined || (pool !== null && (typeof pool !== 'string' || pool.length === 0))) {
        fail(`@eventResponder({ reallocateResources: true }) needs '${key}': a pool name, or null for the unallocated slots`);
      }
    }
    const { gatherFrom = null, gatherTo = null, disperseTo = null, maxSlots = null, slotStep = 1 } = checked;
    if (gatherFrom === gatherTo) fail(`@eventResponder: gatherFrom and gatherTo are both ${String(gatherFrom)}; they must differ`);
    if (maxSlots !== null) checkCountOrName(`@eventResponder({ maxSlots })`, maxSlots, true);
    if (!(Number.isSafeInteger(slotStep) && slotStep >= 1)) fail(`@eventResponder({ slotStep }): slotStep must be a positive integer, got ${String(slotStep)}`);
    reallocation = { gatherFrom, gatherTo, disperseTo, maxSlots, slotStep };
  } else if (typeof reallocateResources !== 'boolean') {
    fail(`@eventResponder({ reallocateResources }) must be true or false, got ${String(reallocateResources)}`);
  }
  const info: AgentInfo = { kind: 'eventResponder', name: '', startup: false, eventName, reallocation };
  return (value, context) => decorate('@eventResponder', value, context, info, 0);
}

// ---- shared checks ------------------------------------------------------------------------------

/** The parts of a decorator context this module reads (any kind of member). */
interface MemberContext {
  readonly kind: string;
  readonly name: string | symbol;
  readonly static: boolean;
  readonly metadata: unknown;
  readonly access: { get(object: never): unknown };
}

function decorate(decorator: string, value: unknown, rawContext: unknown, info: AgentInfo, maxParameters: number): void {
  if (rawContext === null || typeof rawContext !== 'object' || !('kind' in rawContext)) {
    fail(`${decorator} was called as a function; use it as a decorator on a method of a BaseThinker subclass`);
  }
  const context = rawContext as MemberContext;
  const name = String(context.name);
  const where = `${decorator} on '${name}'`;
  if (context.kind !== 'method') {
    fail(`${where}: agents must be methods, but '${name}' is a ${context.kind}. Write it as \`async ${name}() { ... }\`.`);
  }
  if (context.static) fail(`${where}: agents must be instance methods, not static ones`);
  if (typeof value !== 'function') fail(`${where}: expected a method, got ${typeof value}`);
  const kind = value.constructor?.name;
  if (kind === 'GeneratorFunction' || kind === 'AsyncGeneratorFunction') {
    fail(`${where}: agents cannot be generator methods (their body would never run); make it a plain or async method`);
  }
  if (value.length > maxParameters) {
    const expected =
      maxParameters === 0
        ? info.kind === 'taskSubmitter'
          ? 'no arguments (or one item, with the workQueue option)'
          : 'no arguments'
        : info.kind === 'resultProcessor'
          ? 'one argument, the Result'
          : 'one argument, the next item of its work queue';
    fail(`${where}: the method declares ${value.length} required parameter(s), but it is called with ${expected}`);
  }
  const get = context.access.get as (thinker: object) => unknown;
  registerAgent(context.metadata, { info: { ...info, name } as AgentInfo, method: get }, `${decorator} on '${name}'`);
}

function checkOptions<O extends object>(decorator: string, options: O, allowed: readonly (keyof O & string)[]): O {
  if (typeof options === 'function') {
    fail(`${decorator} needs options: write ${decorator}({ ... }) above the method, with parentheses`);
  }
  if (options === null || typeof options !== 'object') fail(`${decorator}: options must be an object, got ${String(options)}`);
  const unknown = Object.keys(options).filter((key) => !(allowed as readonly string[]).includes(key));
  if (unknown.length > 0) fail(`${decorator}: unknown option(s) ${unknown.join(', ')}. Allowed: ${allowed.join(', ')}`);
  return options;
}

function checkCountOrName(where: string, value: unknown, allowZero: boolean): void {
  if (typeof value === 'string' && value.length > 0) return;
  if (typeof value === 'number' && Number.isSafeInteger(value) && (value > 0 || (allowZero && value === 0))) return;
  const expected = allowZero ? 'a non-negative integer' : 'a positive integer';
  fail(`${where}: expected ${expected} or the name of a numeric property of the thinker, got ${JSON.stringify(value)}`);
}

function fail(message: string): never {
  throw new ThinkerDefinitionError(message);
}
