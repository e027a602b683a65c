import type { AnyMethod } from '../models/method-types.js';

/** A method run on the task server's own event loop: for async, I/O-bound work. */
export interface InlineMethodSpec<F extends AnyMethod = AnyMethod> {
  readonly kind: 'inline';
  readonly fn: F;
  readonly executor: string;
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
}

/**
 * A method run on the task server's event loop.
 * @example const methods = { fetch: inlineMethod(async (url: string) => (await fetch(url)).status) };
 */
export function inlineMethod<F extends AnyMethod>(fn: F, options: MethodOptions = {}): InlineMethodSpec<F> {
  if (typeof fn !== 'function') throw new TypeError(`inlineMethod expects a function, got ${typeof fn}`);
  return { kind: 'inline', fn, executor: options.executor ?? 'inline' };
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
    throw new TypeError(`moduleMethod needs a file: URL or an absolute path for '${exportName}', got '${href}'. Use new URL('./x.js', import.meta.url).`);
  }
  if (typeof exportName !== 'string' || exportName.length === 0) throw new TypeError('moduleMethod needs the name of an export');
  return { kind: 'module', module: href, exportName, executor: options.executor ?? 'threads' };
}

/**
 * A method served by remote workers through the named executor (e.g. a BullMQ queue `cpu`).
 * @example const methods = { simulate: remoteMethod<typeof sim.simulate>({ executor: 'cpu' }) };
 */
export function remoteMethod<F extends AnyMethod = AnyMethod>(options: { executor: string }): RemoteMethodSpec<F> {
  if (typeof options?.executor !== 'string' || options.executor.length === 0) {
    throw new TypeError("remoteMethod needs the name of the executor that serves it, e.g. remoteMethod({ executor: 'cpu' })");
  }
  return { kind: 'remote', executor: options.executor };
}
