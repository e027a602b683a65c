import { ThinkerDefinitionError } from '../common/errors.js';

// Node 20 has no Symbol.metadata yet. TypeScript's decorator helpers attach `context.metadata`
// only when it exists; esbuild (tsx) falls back to Symbol.for('Symbol.metadata'). Using that same
// symbol makes both agree. This module is imported by the decorators, so it runs before any
// decorated class is evaluated.
(Symbol as { metadata?: symbol }).metadata ??= Symbol.for('Symbol.metadata');

/** What kind of agent a method is. */
export type AgentKind = 'agent' | 'resultProcessor' | 'taskSubmitter' | 'eventResponder';

/** How an event responder borrows slots while it runs. */
export interface ReallocationPlan {
  readonly gatherFrom: string | null;
  readonly gatherTo: string | null;
  readonly disperseTo: string | null;
  /** A number, the name of a numeric property of the thinker, or `null` for no cap. */
  readonly maxSlots: number | string | null;
  readonly slotStep: number;
}

/** A description of one agent of a thinker class, as {@link BaseThinker.listAgents} returns it. */
export type AgentInfo =
  | { readonly kind: 'agent'; readonly name: string; readonly startup: boolean }
  | { readonly kind: 'resultProcessor'; readonly name: string; readonly startup: false; readonly topic: string }
  | {
      readonly kind: 'taskSubmitter';
      readonly name: string;
      readonly startup: false;
      /** The pool; `undefined` (no taskType given) means the counter's only pool, resolved when the thinker is built. */
      readonly taskType: string | undefined;
      /** A number, or the name of a numeric property of the thinker. */
      readonly nSlots: number | string;
      /** Name of the WorkQueue property that feeds it, if any. */
      readonly workQueue: string | null;
    }
  | {
      readonly kind: 'eventResponder';
      readonly name: string;
      readonly startup: false;
      readonly eventName: string;
      readonly reallocation: ReallocationPlan | null;
    };

/** What the thinker keeps about an agent: its description and how to reach its method. */
export interface AgentRecord {
  readonly info: AgentInfo;
  /** The method as currently defined on the instance (so an override without a decorator still runs). */
  readonly method: (thinker: object) => unknown;
}

const AGENTS = Symbol('colmena.thinker.agents');

type Metadata = Record<PropertyKey, unknown>;

/** Add an agent to the class being decorated; a subclass re-declaring a name replaces its parent's. */
export function registerAgent(rawMetadata: unknown, record: AgentRecord, where: string): void {
  const metadata = rawMetadata as Metadata | undefined | null;
  if (metadata === undefined || metadata === null) {
    throw new ThinkerDefinitionError(
      `${where}: decorator metadata is unavailable. ` +
        `Compile with standard decorators (TypeScript 5.2+ without experimentalDecorators, or tsx/esbuild).`,
    );
  }
  let own: AgentRecord[];
  if (Object.hasOwn(metadata, AGENTS)) {
    own = metadata[AGENTS] as AgentRecord[];
  } else {
    // Start from the parent's agents (reachable through the metadata's prototype).
    own = [...((metadata[AGENTS] as AgentRecord[] | undefined) ?? [])];
    metadata[AGENTS] = own;
  }
  const existing = own.findIndex((other) => other.info.name === record.info.name);
  if (existing >= 0) own.splice(existing, 1, record);
  else own.push(record);
}

/** The agents declared on a class and its ancestors, in declaration order. */
export function agentsOf(constructor: object): readonly AgentRecord[] {
  const metadata = (constructor as { [Symbol.metadata]?: Metadata | null })[Symbol.metadata];
  return (metadata?.[AGENTS] as AgentRecord[] | undefined) ?? [];
}

/**
 * The agents with every `@taskSubmitter` that named no pool given the counter's only one, as
 * Colmena's `task_submitter()` without a task type does when there is one pool.
 * @throws ThinkerDefinitionError when such an agent meets a counter of none or several pools.
 */
export function withDefaultPools(records: readonly AgentRecord[], taskTypes: readonly string[] | null, className: string): readonly AgentRecord[] {
  if (!records.some((record) => record.info.kind === 'taskSubmitter' && record.info.taskType === undefined)) return records;
  return records.map((record) => {
    const info = record.info;
    if (info.kind !== 'taskSubmitter' || info.taskType !== undefined) return record;
    if (taskTypes === null || taskTypes.length !== 1) {
      const pools = taskTypes === null ? 'no ResourceCounter' : `a ResourceCounter with ${taskTypes.length} pools (${taskTypes.join(', ') || 'none besides null'})`;
      throw new ThinkerDefinitionError(
        `${className}.${info.name}: @taskSubmitter names no taskType, which works only with a ResourceCounter of exactly one pool; ` +
          `this thinker has ${pools}. Name the pool: @taskSubmitter({ taskType: '...' }).`,
      );
    }
    return { ...record, info: { ...info, taskType: taskTypes[0] } };
  });
}
