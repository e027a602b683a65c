import { AsyncLocalStorage } from 'node:async_hooks';
import { AgentFailedError, InvalidArgumentError, InvalidStateError, ThinkerDefinitionError } from '../common/errors.js';
import { type Logger, childLogger, rootLogger } from '../common/logging.js';
import type { MethodMap } from '../models/method-types.js';
import { ColmenaQueues } from '../queue/base.js';
import { Emitter } from '../common/emitter.js';
import { type AgentHost, countProperty, EventBarrier, eventProperty, runAgentBody, workQueueProperty } from './agent-loops.js';
import { AsyncEvent } from './async-event.js';
import { type AgentInfo, type AgentRecord, agentsOf, withDefaultPools } from './metadata.js';
import { ResourceCounter } from './resource-counter.js';
import type { Result } from '../models/result.js';
import { resumeCampaign, type ResumeOptions, type ResumeSource, type ResumeSummary } from './resume.js';

export interface ThinkerOptions {
  /** Name of the thinker's logger; each agent logs as `<loggerName>.<agent>`. @default 'thinker' */
  loggerName?: string;
  /** Logger the thinker's loggers are children of. @default the library's root logger */
  logger?: Logger;
}

/** What a thinker tells observers (run logs, dashboards) through {@link BaseThinker.events}. */
export interface ThinkerEvents {
  /** An agent began running (after prepareAgent). */
  agentStarted: { agent: string };
  /** An agent's body returned (`failed: false`) or threw (`failed: true`). */
  agentStopped: { agent: string; failed: boolean };
  /** An AsyncEvent property of the thinker (named by its property, e.g. `done`) was set. */
  eventSet: { event: string };
  /** {@link BaseThinker.resume} replayed a record and dealt with its in-flight tasks; agents start next. */
  resumed: ResumeSummary;
}

/** The lifecycle of a thinker: `created`, then `running` after start(), then `finished`. */
export type ThinkerState = 'created' | 'running' | 'finished';

interface AgentContext {
  readonly thinker: object;
  readonly name: string;
  readonly logger: Logger;
  readonly local: Record<string, unknown>;
}

const agentContext = new AsyncLocalStorage<AgentContext>();

/**
 * The base of a steering application. Write each activity of the campaign as a method marked with
 * {@link agent}, {@link resultProcessor}, {@link taskSubmitter} or {@link eventResponder}; `run()`
 * starts them all on this event loop and resolves once every one has finished.
 *
 * Agents share the thinker's fields. Each has its own {@link logger} (named
 * `thinker.<agent>`) and {@link localDetails}, reached through `this` like any other member. The
 * {@link done} event is how the campaign ends: it is set when a (non-startup) agent returns or any
 * agent throws, and the special-purpose agents wind down when it is.
 *
 * @example
 * class Campaign extends BaseThinker {
 *   readonly todo = new WorkQueue<number>([1, 2, 3]);
 *   \@taskSubmitter({ taskType: 'sim', workQueue: 'todo' })
 *   async submit(x: number) { await this.queues.sendInputs('square', [x], { topic: 'sim' }); }
 *   \@resultProcessor({ topic: 'sim' })
 *   record(result: Result) { this.rec.release('sim', 1); console.log(result.value); }
 * }
 * await new Campaign(queues, new ResourceCounter(2, ['sim'])).run();
 */
export abstract class BaseThinker<M extends MethodMap = MethodMap> {
  /** The channel to the task server. */
  readonly queues: ColmenaQueues<M>;
  /** The slot counter shared by the agents, if the thinker was given one. */
  readonly resourceCounter: ResourceCounter | null;
  /** Set when the campaign should end; every agent can await it or use `done.signal`. */
  readonly done = new AsyncEvent();
  /**
   * Agent and event activity, for observers: `thinker.events.on('agentStopped', ...)`. Listeners
   * run synchronously and must only record; one that throws is logged.
   */
  readonly events = new Emitter<ThinkerEvents>((error, event) => this.#logger.error({ err: error, event }, 'a thinker observer failed'));
  readonly #agents: readonly AgentRecord[];
  readonly #loggerName: string;
  readonly #parentLogger: Logger;
  readonly #logger: Logger;
  readonly #sharedLocal: Record<string, unknown> = {};
  #state: ThinkerState = 'created';
  #run: Promise<void> | null = null;
  #resuming = false;

  /**
   * @throws ThinkerDefinitionError when an agent names a topic the queues lack, a pool the
   *   counter lacks, or needs a ResourceCounter that was not given.
   */
  constructor(queues: ColmenaQueues<M>, resourceCounter: ResourceCounter | null = null, options: ThinkerOptions = {}) {
    if (!(queues instanceof ColmenaQueues)) {
      throw new InvalidArgumentError(`A thinker needs ColmenaQueues (e.g. new LocalQueues()), got ${String(queues)}`);
    }
    if (resourceCounter !== null && !(resourceCounter instanceof ResourceCounter)) {
      throw new InvalidArgumentError(`resourceCounter must be a ResourceCounter or null, got ${String(resourceCounter)}`);
    }
    this.queues = queues;
    this.resourceCounter = resourceCounter;
    this.#loggerName = options.loggerName ?? 'thinker';
    this.#parentLogger = options.logger ?? rootLogger();
    this.#logger = childLogger(this.#loggerName, this.#parentLogger);
    this.#agents = withDefaultPools(agentsOf(new.target), resourceCounter?.taskTypes ?? null, new.target.name);
    this.#checkAgainstQueuesAndPools(new.target.name);
  }

  /** The agents declared on a thinker class, in declaration order (subclasses after their parents). */
  static listAgents(): AgentInfo[] {
    return agentsOf(this).map((record) => record.info);
  }

  /** The agents of this thinker. */
  listAgents(): AgentInfo[] {
    return this.#agents.map((record) => record.info);
  }

  get state(): ThinkerState {
    return this.#state;
  }

  /**
   * The resource counter.
   * @throws InvalidStateError if the thinker was created without one.
   */
  get rec(): ResourceCounter {
    if (this.resourceCounter === null) {
      throw new InvalidStateError(`This ${this.constructor.name} has no ResourceCounter; pass one as the second constructor argument`);
    }
    return this.resourceCounter;
  }

  /** The logger of the agent running now (`thinker.<agent>`), or the thinker's own outside agents. */
  get logger(): Logger {
    const context = agentContext.getStore();
    return context?.thinker === this ? context.logger : this.#logger;
  }

  /** Name of the agent running now, or `null` outside agents. */
  get agentName(): string | null {
    const context = agentContext.getStore();
    return context?.thinker === this ? context.name : null;
  }

  /**
   * State private to the agent running now (each agent sees its own object, e.g. a database
   * connection opened in {@link prepareAgent}). Outside agents, an object shared by the thinker.
   */
  get localDetails(): Record<string, unknown> {
    const context = agentContext.getStore();
    return context?.thinker === this ? context.local : this.#sharedLocal;
  }

  /** Runs in each agent before its body; override to set up per-agent state in {@link localDetails}. */
  protected prepareAgent(): void | Promise<void> {}

  /** Runs in each agent after its body, even if it failed; override to release per-agent state. */
  protected tearDownAgent(): void | Promise<void> {}

  /**
   * Start every agent. Properties named by decorators (events, work queues, slot counts) are
   * checked first.
   * @throws ThinkerDefinitionError for a misnamed or mistyped property; InvalidStateError if already started.
   */
  start(): this {
    if (this.#state !== 'created') throw new InvalidStateError(`start() needs a new thinker; this one is ${this.#state}`);
    if (this.#resuming) throw new InvalidStateError('start() while resume() is replaying; resume() starts the agents itself');
    const barriers = this.#checkProperties();
    this.#state = 'running';
    const unobserve = this.#observeEvents();
    this.#run = this.#runAgents(barriers).finally(unobserve);
    // A failure is logged when it happens and reported by join(); until someone joins, do not
    // let it surface as an unhandled rejection.
    this.#run.catch(() => {});
    return this;
  }

  /**
   * Resolve once every agent has finished.
   * @throws AgentFailedError naming the agent(s) that threw.
   */
  join(): Promise<void> {
    if (this.#run === null) return Promise.reject(new InvalidStateError('join() before start(): call start() or run() first'));
    return this.#run;
  }

  /**
   * Carry on a campaign from its record (`readCampaignRecord(path)`), then start every agent. First
   * each completed result goes to {@link replayResult}, in the order it was taken, without running
   * it again; then each in-flight task goes to {@link resumeTask}; only then do agents start, so
   * nothing new is sent before the thinker knows everything the old one knew. See docs/resume.md.
   * @throws InvalidStateError unless the thinker is new; whatever a hook throws.
   * @example
   * const record = await readCampaignRecord('runs/last/run.jsonl');
   * await thinker.resume(record, { inFlight: 'adopt' });
   * await thinker.join();
   */
  async resume(record: ResumeSource, options: ResumeOptions = {}): Promise<this> {
    if (this.#state !== 'created' || this.#resuming) {
      throw new InvalidStateError(`resume() needs a new thinker; this one is ${this.#resuming ? 'already resuming' : this.#state}`);
    }
    this.#resuming = true;
    let summary: ResumeSummary;
    try {
      summary = await resumeCampaign(this.queues as unknown as ColmenaQueues, record, options, {
        replayResult: (result) => this.replayResult(result),
        resumeTask: (task, carryOn) => this.resumeTask(task, carryOn),
      });
    } finally {
      this.#resuming = false;
    }
    this.events.emit('resumed', summary);
    this.#logger.info({ replayed: summary.replayed, adopted: summary.adopted.length, resent: summary.resent.length, abandoned: summary.abandoned.length }, 'resumed');
    return this.start();
  }

  /**
   * Take back one completed result of the campaign being resumed: update what the thinker knows
   * (its database, its best so far) as its result processor would, but do not release slots: this
   * thinker never acquired any for it. Override to resume; the default throws.
   */
  protected replayResult(result: Result): void | Promise<void> {
    throw new ThinkerDefinitionError(
      `${this.constructor.name} cannot resume: override replayResult(result) to take back the ${result.method} result ` +
        `of task ${result.taskId} (update the thinker's state as its result processor does, without releasing slots)`,
    );
  }

  /**
   * Deal with one task the old thinker had in flight. `carryOn()` adopts or re-sends it (per the
   * `inFlight` option) and resolves with the id its result will carry; its result then reaches the
   * result processors like any other. Override to take its slots first (the processor will
   * release them), or to queue its work again yourself (then do not call `carryOn`; the task is
   * recorded as abandoned). @default carryOn()
   */
  protected resumeTask(_task: Result, carryOn: () => Promise<string>): void | Promise<void> {
    return carryOn().then(() => undefined);
  }

  /** Start every agent and resolve once all have finished; rejects with AgentFailedError if any threw. */
  async run(): Promise<void> {
    await this.start().join();
  }

  async #runAgents(barriers: ReadonlyMap<string, EventBarrier>): Promise<void> {
    const names = this.#agents.map((record) => record.info.name);
    if (names.length === 0) this.#logger.warn(`${this.constructor.name} has no agents; mark methods with @agent() and the like`);
    this.#logger.info({ agents: names }, 'thinker started');
    const failures: { agentName: string; error: unknown }[] = [];
    try {
      await Promise.all(this.#agents.map((record) => this.#runAgent(record, barriers, failures)));
    } finally {
      this.done.set();
      this.#state = 'finished';
    }
    if (failures.length > 0) throw new AgentFailedError(failures);
    this.#logger.info('thinker completed');
  }

  #runAgent(record: AgentRecord, barriers: ReadonlyMap<string, EventBarrier>, failures: { agentName: string; error: unknown }[]): Promise<void> {
    const name = record.info.name;
    const logger = childLogger(`${this.#loggerName}.${name}`, this.#parentLogger);
    const context: AgentContext = { thinker: this, name, logger, local: {} };
    const fail = (error: unknown, during: string): void => {
      logger.error({ err: error }, `agent '${name}' failed${during}`);
      failures.push({ agentName: name, error });
      this.done.set();
    };
    return agentContext.run(context, async () => {
      logger.debug('agent started');
      let prepared = false;
      try {
        await this.prepareAgent();
        prepared = true;
        this.events.emit('agentStarted', { agent: name });
        await runAgentBody(record, this as unknown as AgentHost, barriers);
        this.events.emit('agentStopped', { agent: name, failed: false });
        if (!record.info.startup) this.done.set();
        logger.debug('agent finished');
      } catch (error) {
        if (prepared) this.events.emit('agentStopped', { agent: name, failed: true });
        fail(error, prepared ? '' : ' in prepareAgent()');
      }
      if (!prepared) return;
      try {
        await this.tearDownAgent();
      } catch (error) {
        fail(error, ' in tearDownAgent()');
      }
    });
  }

  /** Report each AsyncEvent property of the thinker being set; returns the function that stops. */
  #observeEvents(): () => void {
    const stops: (() => void)[] = [];
    for (const [name, value] of Object.entries(this)) {
      if (value instanceof AsyncEvent) stops.push(value.onSet(() => this.events.emit('eventSet', { event: name })));
    }
    return () => {
      for (const stop of stops) stop();
    };
  }

  /** Checks that need only the queues and the counter: run at construction. */
  #checkAgainstQueuesAndPools(className: string): void {
    const counter = this.resourceCounter;
    const pools = counter === null ? [] : [null, ...counter.taskTypes];
    const checkPool = (agentName: string, option: string, pool: string | null): void => {
      if (counter === null) {
        throw new ThinkerDefinitionError(
          `${className}.${agentName} uses resource pools (${option}), but the thinker was created without a ResourceCounter. ` +
            `Pass new ResourceCounter(slots, [...taskTypes]) as the second constructor argument.`,
        );
      }
      if (!pools.includes(pool)) {
        throw new ThinkerDefinitionError(
          `${className}.${agentName}: ${option} is ${pool === null ? 'null' : `'${pool}'`}, which the ResourceCounter does not have. ` +
            `Its pools: ${pools.map(String).join(', ')}.`,
        );
      }
    };
    for (const { info } of this.#agents) {
      if (info.kind === 'resultProcessor' && !this.queues.topics.includes(info.topic)) {
        throw new ThinkerDefinitionError(
          `${className}.${info.name}: @resultProcessor topic '${info.topic}' is not a topic of the queues (${this.queues.topics.join(', ')}). ` +
            `Add it to the queues' 'topics' option.`,
        );
      }
      if (info.kind === 'taskSubmitter') checkPool(info.name, 'taskType', info.taskType!);
      if (info.kind === 'eventResponder' && info.reallocation !== null) {
        checkPool(info.name, 'gatherFrom', info.reallocation.gatherFrom);
        checkPool(info.name, 'gatherTo', info.reallocation.gatherTo);
        checkPool(info.name, 'disperseTo', info.reallocation.disperseTo);
      }
    }
  }

  /** Checks of the properties decorators name (fields exist only once the subclass is built). */
  #checkProperties(): Map<string, EventBarrier> {
    const host = this as unknown as AgentHost;
    const responders = new Map<string, number>();
    for (const { info } of this.#agents) {
      if (info.kind === 'taskSubmitter') {
        countProperty(host, info.nSlots, `@taskSubmitter '${info.name}' nSlots`, 1);
        if (info.workQueue !== null) workQueueProperty(host, info.workQueue);
      }
      if (info.kind === 'eventResponder') {
        eventProperty(host, info.eventName);
        if (info.reallocation?.maxSlots != null) countProperty(host, info.reallocation.maxSlots, `@eventResponder '${info.name}' maxSlots`, 0);
        responders.set(info.eventName, (responders.get(info.eventName) ?? 0) + 1);
      }
    }
    const barriers = new Map<string, EventBarrier>();
    for (const [eventName, parties] of responders) barriers.set(eventName, new EventBarrier(eventProperty(host, eventName), parties));
    return barriers;
  }
}
