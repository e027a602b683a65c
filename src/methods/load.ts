import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isExecutableMethod } from './executable.js';
import type { MethodTarget } from './run.js';

const cache = new Map<string, Promise<MethodTarget>>();

/** Import `exportName` from `module` once per process, checking that it is a function or an ExecutableMethod. */
export function loadModuleMethod(module: string, exportName: string): Promise<MethodTarget> {
  const key = `${module}#${exportName}`;
  let loaded = cache.get(key);
  if (!loaded) {
    loaded = importModule(module).then((namespace) => {
      const fn = namespace[exportName];
      if (typeof fn !== 'function' && !isExecutableMethod(fn)) {
        const functions = Object.keys(namespace).filter((k) => typeof namespace[k] === 'function');
        throw new TypeError(
          `Module ${module} has no function export '${exportName}'. Its function exports: ${functions.join(', ') || '(none)'}`,
        );
      }
      return fn as MethodTarget;
    });
    // A failed import is not cached, so a fixed module can be retried.
    loaded.catch(() => cache.delete(key));
    cache.set(key, loaded);
  }
  return loaded;
}

/** The namespace of `module`, imported as workers import it (TypeScript sources too, in development). */
export function loadModuleNamespace(module: string): Promise<Record<string, unknown>> {
  return importModule(module);
}

async function importModule(module: string): Promise<Record<string, unknown>> {
  try {
    return (await import(module)) as Record<string, unknown>;
  } catch (error) {
    // Node 20 does not apply ESM loader hooks (tsx) inside worker threads, but its CommonJS hooks
    // do apply, and Node >= 20.19 can require ES modules: so TypeScript sources still load in
    // development. Compiled JavaScript never takes this path.
    if ((error as NodeJS.ErrnoException).code === 'ERR_UNKNOWN_FILE_EXTENSION' && module.startsWith('file:')) {
      return createRequire(import.meta.url)(fileURLToPath(module)) as Record<string, unknown>;
    }
    // Under tsx, new URL('./simulate.js', import.meta.url) names a file that exists only as
    // simulate.ts: resolve it as tsx resolves './simulate.js' in an import, so one line works
    // both with tsx and compiled.
    const source = /\.(m?)js$/.exec(module);
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && module.startsWith('file:') && source) {
      const typescript = `${module.slice(0, -source[0].length)}.${source[1]}ts`;
      if (existsSync(fileURLToPath(typescript)) && !existsSync(fileURLToPath(module))) return importModule(typescript);
    }
    throw error;
  }
}
