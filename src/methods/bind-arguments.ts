import { InvalidArgumentError } from '../common/errors.js';

/**
 * Bind positional and keyword arguments to a method's declared parameter names, as Python's call
 * does: positional ones fill the names in order, keyword ones fill names by name. The method is
 * then called with positional arguments only; a name given no value is passed as `undefined`, so
 * a JavaScript default parameter applies.
 *
 * @throws InvalidArgumentError for an unknown keyword, a name given twice, or too many positional
 *   arguments (the task fails with that message; the method is not called).
 */
export function bindArguments(method: string, params: readonly string[], args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): unknown[] {
  if (args.length > params.length) {
    throw new InvalidArgumentError(
      `Method '${method}' takes ${params.length} argument(s) (${params.join(', ') || 'none'}) but ${args.length} positional argument(s) were given`,
    );
  }
  const bound = [...args];
  let last = args.length;
  for (const name of Object.keys(kwargs)) {
    const index = params.indexOf(name);
    if (index < 0) {
      throw new InvalidArgumentError(
        `Method '${method}' got an unexpected keyword argument '${name}'. Its parameters: ${params.join(', ') || '(none)'}`,
      );
    }
    if (index < args.length) throw new InvalidArgumentError(`Method '${method}' got multiple values for argument '${name}' (positional and keyword)`);
    bound[index] = kwargs[name];
    last = Math.max(last, index + 1);
  }
  // No holes: a name without a value is an explicit undefined.
  return Array.from({ length: last }, (_, i) => bound[i]);
}

/** Check a `params` option once, when the method is declared. */
export function checkParams(owner: string, params: unknown): readonly string[] {
  if (!Array.isArray(params) || params.some((name) => typeof name !== 'string' || name.length === 0)) {
    throw new InvalidArgumentError(`${owner}: params must be an array of parameter names, e.g. { params: ['a', 'b'] }; got ${JSON.stringify(params)}`);
  }
  const seen = new Set<string>();
  for (const name of params as string[]) {
    if (seen.has(name)) throw new InvalidArgumentError(`${owner}: params lists '${name}' twice`);
    seen.add(name);
  }
  return Object.freeze([...(params as string[])]);
}
