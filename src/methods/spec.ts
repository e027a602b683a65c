import type { AnyMethod } from '../models/method-types.js';
import { type ExecutableMethod, isExecutableMethod } from './executable.js';
import { GENERATOR_MODES, type GeneratorMode } from './envelope.js';
import { InvalidArgumentError } from '../common/errors.js';
import { checkParams } from './bind-arguments.js';

/** What every kind of method spec may carry besides where it runs (see {@link MethodOptions}). */
export interface MethodCallOptions {
  readonly generator?: GeneratorMode;
  readonly params?: readonly string[];
  readonly taskContext?: boolean;
  readonly streamTopic?: string;
}

/** A method run on the task server's own event loop: for async, I/O-bound work. */
export interface InlineMethodSpec<F extends AnyMethod = AnyMethod> extends MethodCallOptions {
  readonly kind: 'inline';
  readonly fn: F | ExecutableMethod<never, unknown>;
  readonly executor: string;
  readonly generator?: GeneratorMode;
}

/**
 * A method named by module and export, so a worker thread, a child process or a remote worker can
 * import it (functions cannot cross threads).
 */
export interface ModuleMethodSpec<F extends AnyMethod = AnyMethod> extends MethodCallOptions {
  readonly kind: 'module';
  /** A `file:` URL (or absolute path) of the module. */
  readonly module: string;
  readonly exportName: string;
  readonly executor: string;
  readonly generator?: GeneratorMode;
  /** Phantom field carrying the signature for type inference; never set. */
  readonly signature?: F;
}

/**
 * A method that runs on workers elsewhere (e.g. `colmena worker` processes on other hosts), which
 * load it themselves: the task server knows only its name and executor.
 */
export interface RemoteMethodSpec<F extends AnyMethod = AnyMethod> extends MethodCallOptions {
  readonly kind: 'remote';
  readonly executor: string;
  readonly generator?: GeneratorMode;
  /** Phantom field carrying the signature for type inference; never set. */
  readonly signature?: F;
}

export type MethodSpec<F extends AnyMethod = AnyMethod> = InlineMethodSpec<F> | ModuleMethodSpec<F> | RemoteMethodSpec<F>;

/** The method signatures of a set of specs: what a queue is typed by. */
export type MethodsOf<S extends Record<string, MethodSpec>> = {
  [K in keyof S]: S[K] extends MethodSpec<infer F> ? F : never;
};

export interface MethodOptions {
  /** Which executor of the task server runs it. */
  executor?: string;
  /** For generator methods: collect the yields into the value, or stream each as it comes. */
  generator?: GeneratorMode;
  /**
   * The method's parameter names, in order. When given, positional and keyword arguments
   * (Python's `input_kwargs`) bind by name, as a Python call does, and an unknown keyword fails
   * the task. Without it, keyword arguments are passed as one final object argument.
   * @example moduleMethod(url, 'add', { params: ['a', 'b'] })
   */
  params?: readonly string[];
  /** Let the method read its task's context with `taskContext()` (task id, topic, resources, stop signal). @default false */
  taskContext?: boolean;
  /**
   * For `generator: 'stream'`: send the intermediate results to this topic (Colmena's
   * `streaming_queue`); the final result stays on the task's topic. Over Redis, an agent should
   * be waiting on this topic while such tasks run: an intermediate result read after its task's
   * final one is dropped, like any result of a retired task. @default the task's topic
   */
  streamTopic?: string;
}

type ExecutableSignature<E> = E extends ExecutableMethod<infer A, infer V> ? (...args: A) => Promise<V> : never;

/**
 * A method run on the task server's event loop.
 * @example const methods = { fetch: inlineMethod(async (url: string) => (await fetch(url)).status) };
 */
export function inlineMethod<F extends AnyMethod>(fn: F, options?: MethodOptions): InlineMethodSpec<F>;
export function inlineMethod<E extends ExecutableMethod<never, unknown>>(executable: E, options?: MethodOptions): InlineMethodSpec<ExecutableSignature<E>>;
export function inlineMethod(fn: AnyMethod | ExecutableMethod<never, unknown>, options: MethodOptions = {}): InlineMethodSpec {
  if (typeof fn !== 'function' && !isExecutableMethod(fn)) {
    throw new InvalidArgumentError(`inlineMethod expects a function or an ExecutableMethod, got ${typeof fn}`);
  }
  return withOptions({ kind: 'inline', fn, executor: options.executor ?? 'inline' }, options);
}

function withOptions<S extends MethodSpec>(spec: S, options: MethodOptions): S {
  const out: { -readonly [K in keyof MethodCallOptions]: MethodCallOptions[K] } = {};
  const mode = options.generator;
  if (mode !== undefined) {
    if (!GENERATOR_MODES.includes(mode)) {
      throw new InvalidArgumentError(`generator must be 'collect', 'collect-with-return' or 'stream', got ${JSON.stringify(mode)}`);
    }
    out.generator = mode;
  }
  if (options.params !== undefined) out.params = checkParams('Method option', options.params);
  if (options.taskContext !== undefined) {
    if (typeof options.taskContext !== 'boolean') throw new InvalidArgumentError(`taskContext must be true or false, got ${JSON.stringify(options.taskContext)}`);
    if (options.taskContext) out.taskContext = true;
  }
  if (options.streamTopic !== undefined) {
    if (mode !== 'stream') throw new InvalidArgumentError(`streamTopic needs generator: 'stream' (got generator ${JSON.stringify(mode)})`);
    if (typeof options.streamTopic !== 'string' || options.streamTopic.length === 0 || options.streamTopic.includes('{')) {
      throw new InvalidArgumentError(`streamTopic must be a topic name (non-empty, no '{'), got ${JSON.stringify(options.streamTopic)}`);
    }
    out.streamTopic = options.streamTopic;
  }
  return Object.keys(out).length === 0 ? spec : { ...spec, ...out };
}

/**
 * A method imported by workers from `module` (a `file:` URL, e.g. `new URL('./sim.js', import.meta.url)`).
 * Give the signature as a type argument so queues type-check calls to it.
 * @default executor 'threads'
 * @example const methods = { add: moduleMethod<typeof import('./math.js').add>(new URL('./math.js', import.meta.url), 'add') };
 */
export function moduleMethod<F extends AnyMethod = AnyMethod>(
  module: string | URL,
  exportName: string,
  options: MethodOptions = {},
): ModuleMethodSpec<F> {
  const href = module instanceof URL ? module.href : module.startsWith('/') ? `file://${module}` : module;
  if (!/^(file|data|node):/.test(href)) {
    throw new InvalidArgumentError(`moduleMethod needs a file: URL or an absolute path for '${exportName}', got '${href}'. Use new URL('./x.js', import.meta.url).`);
  }
  if (typeof exportName !== 'string' || exportName.length === 0) throw new InvalidArgumentError('moduleMethod needs the name of an export');
  return withOptions({ kind: 'module', module: href, exportName, executor: options.executor ?? 'threads' }, options);
}

/**
 * A method served by remote workers through the named executor (e.g. a BullMQ queue `cpu`).
 * @example const methods = { simulate: remoteMethod<typeof sim.simulate>({ executor: 'cpu' }) };
 */
export function remoteMethod<F extends AnyMethod = AnyMethod>(options: MethodOptions & { executor: string }): RemoteMethodSpec<F> {
  if (typeof options?.executor !== 'string' || options.executor.length === 0) {
    throw new InvalidArgumentError("remoteMethod needs the name of the executor that serves it, e.g. remoteMethod({ executor: 'cpu' })");
  }
  return withOptions({ kind: 'remote', executor: options.executor }, options);
}
