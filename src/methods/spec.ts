import type { AnyMethod } from '../models/method-types.js';
import { type ExecutableMethod, isExecutableMethod } from './executable.js';
import type { GeneratorMode } from './run.js';
import { InvalidArgumentError } from '../common/errors.js';

/** A method run on the task server's own event loop: for async, I/O-bound work. */
export interface InlineMethodSpec<F extends AnyMethod = AnyMethod> {
  readonly kind: 'inline';
  readonly fn: F | ExecutableMethod<never, unknown>;
  readonly executor: string;
  readonly generator?: GeneratorMode;
}

/**
 * A method named by module and export, so a worker thread, a child process or a remote worker can
 * import it (functions cannot cross threads).
 */
export interface ModuleMethodSpec<F extends AnyMethod = AnyMethod> {
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
export interface RemoteMethodSpec<F extends AnyMethod = AnyMethod> {
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
  return withGenerator({ kind: 'inline', fn, executor: options.executor ?? 'inline' }, options);
}

function withGenerator<S extends MethodSpec>(spec: S, options: MethodOptions): S {
  const mode = options.generator;
  if (mode === undefined) return spec;
  if (mode !== 'collect' && mode !== 'collect-with-return' && mode !== 'stream') {
    throw new InvalidArgumentError(`generator must be 'collect', 'collect-with-return' or 'stream', got ${JSON.stringify(mode)}`);
  }
  return { ...spec, generator: mode };
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
  return withGenerator({ kind: 'module', module: href, exportName, executor: options.executor ?? 'threads' }, options);
}

/**
 * A method served by remote workers through the named executor (e.g. a BullMQ queue `cpu`).
 * @example const methods = { simulate: remoteMethod<typeof sim.simulate>({ executor: 'cpu' }) };
 */
export function remoteMethod<F extends AnyMethod = AnyMethod>(options: MethodOptions & { executor: string }): RemoteMethodSpec<F> {
  if (typeof options?.executor !== 'string' || options.executor.length === 0) {
    throw new InvalidArgumentError("remoteMethod needs the name of the executor that serves it, e.g. remoteMethod({ executor: 'cpu' })");
  }
  return withGenerator({ kind: 'remote', executor: options.executor }, options);
}
