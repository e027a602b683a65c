/**
 * URL of a module beside `base` (an `import.meta.url`), with the extension `base` has: `.ts` when
 * running sources under tsx, `.js` once built. Lets a module name its worker files either way.
 */
export function siblingModule(base: string, name: string): URL {
  const extension = /\.[cm]?ts$/.test(new URL(base).pathname) ? '.ts' : '.js';
  return new URL(`./${name}${extension}`, base);
}
