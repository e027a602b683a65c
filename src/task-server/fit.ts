/**
 * Fit between methods and executors, checked when a task server is built (each executor says
 * which kinds of method it runs) and when it starts (each module method's export is loaded once),
 * so a method that can never run is an error at once rather than a failed result per task.
 */
import { InvalidArgumentError } from '../common/errors.js';
import { isExecutableMethod } from '../methods/executable.js';
import { loadModuleNamespace } from '../methods/load.js';
import type { MethodSpec } from '../methods/spec.js';
import type { Executor } from './executor.js';

/**
 * The kinds of method an executor may run:
 * - `function`: a plain function given to `inlineMethod` (it cannot leave the server's process);
 * - `executable`: an `ExecutableMethod` given to `inlineMethod`;
 * - `module-function`: a function export named by `moduleMethod`;
 * - `module-executable`: an `ExecutableMethod` export named by `moduleMethod` (known once loaded);
 * - `remote`: a `remoteMethod`, loaded by workers elsewhere.
 */
export type MethodKind = 'function' | 'executable' | 'module-function' | 'module-executable' | 'remote';

/** What each kind is called in an error message, with how to declare it differently. */
const DESCRIPTION: Record<MethodKind, string> = {
  function: 'an inline function (inlineMethod(fn)), which cannot leave the task server',
  executable: 'an inline ExecutableMethod (inlineMethod(executable))',
  'module-function': 'a module function (moduleMethod(url, name))',
  'module-executable': 'an ExecutableMethod exported from a module',
  remote: 'a remote method (remoteMethod), which only remote workers can load',
};

/** The kind a spec declares; a module export's kind is known only once it is loaded. */
export function declaredKind(spec: MethodSpec): MethodKind {
  if (spec.kind === 'inline') return isExecutableMethod(spec.fn) ? 'executable' : 'function';
  if (spec.kind === 'remote') return 'remote';
  return 'module-function';
}

/** Throw if an executor that declares what it runs was given a method of another kind. */
export function checkFit(method: string, kind: MethodKind, executor: Executor): void {
  const runs = executor.runs;
  if (!runs || runs.includes(kind)) return;
  const others = kindsFor(kind);
  let fix = others.length > 0 ? `Run it on an executor that takes ${kind} methods (built in: ${others.join(', ')})` : 'Declare it as one of those kinds';
  if (kind === 'function' && runs.includes('module-function')) {
    fix =
      `Export it from a module and declare it with moduleMethod(new URL('./file.js', import.meta.url), '${method}', { executor: '${executor.name}' })` +
      (runs.includes('remote') ? ` or remoteMethod({ executor: '${executor.name}' })` : '') +
      `, or run it on the inline executor`;
  }
  throw new InvalidArgumentError(`Method '${method}' is ${DESCRIPTION[kind]}, but its executor '${executor.name}' runs only ${runs.join(', ')}. ${fix}.`);
}

/** Built-in executors that run this kind, for the hint in {@link checkFit}'s message. */
function kindsFor(kind: MethodKind): string[] {
  const builtIn: Record<string, readonly MethodKind[]> = {
    inline: ['function', 'executable', 'module-function', 'module-executable'],
    threads: ['module-function'],
    processes: ['module-function', 'module-executable'],
    BullmqExecutor: ['module-function', 'module-executable', 'remote'],
  };
  return Object.entries(builtIn)
    .filter(([, runs]) => runs.includes(kind))
    .map(([name]) => name);
}

/**
 * Load each module method's module once (on this side) and check its export: a missing export is
 * an error naming the module and the exports it has; an export that is an ExecutableMethod is
 * checked against its executor again. Modules are loaded one after another, each once.
 */
export async function checkModuleExports(methods: ReadonlyMap<string, MethodSpec>, executors: ReadonlyMap<string, Executor>): Promise<void> {
  const problems: string[] = [];
  for (const [method, spec] of methods) {
    if (spec.kind !== 'module') continue;
    let namespace: Record<string, unknown>;
    try {
      namespace = await loadModuleNamespace(spec.module);
    } catch (error) {
      problems.push(`Method '${method}': cannot load its module ${spec.module}: ${(error as Error).message}`);
      continue;
    }
    const target = namespace[spec.exportName];
    if (typeof target !== 'function' && !isExecutableMethod(target)) {
      const exports = Object.keys(namespace).filter((name) => typeof namespace[name] === 'function' || isExecutableMethod(namespace[name]));
      problems.push(
        `Method '${method}': module ${spec.module} has no function or ExecutableMethod export '${spec.exportName}'` +
          (target === undefined ? '' : ` (it is ${typeof target})`) +
          `. Its exports: ${exports.join(', ') || '(none)'}.`,
      );
      continue;
    }
    const executor = executors.get(spec.executor);
    if (executor && isExecutableMethod(target)) {
      try {
        checkFit(method, 'module-executable', executor);
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
  }
  if (problems.length > 0) throw new InvalidArgumentError(problems.join('\n'));
}
