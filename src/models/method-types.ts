import type { Result } from './result.js';

/** Any function that can serve as a task method. */
// `any` is the only way to accept every parameter list here.
export type AnyMethod = (...args: any[]) => unknown;

/** Method names mapped to their signatures; queues and results are typed by it. */
export type MethodMap = Record<string, AnyMethod>;

/**
 * The value a method's Result carries: the awaited return value; for a generator method, what its
 * mode delivers (streamed: a yield on each intermediate result and the return value, or `null`, on
 * the final one; collected: the array of yields, or the yields with the return value).
 */
export type MethodValue<F extends AnyMethod> =
  ReturnType<F> extends Generator<infer Y, infer R, never> | AsyncGenerator<infer Y, infer R, never>
    ? Y | R | Y[] | { yields: Y[]; returned: R }
    : Awaited<ReturnType<F>>;

/** Positional arguments of a method, as sent with `sendInputs`. */
export type MethodArgs<F extends AnyMethod> = Parameters<F>;

/**
 * A result of any method of `M`: a union discriminated by `method`, so checking
 * `result.method === 'add'` narrows `result.value` to what `add` returns.
 */
export type AnyResult<M extends MethodMap> = {
  [K in keyof M & string]: Result<K, MethodValue<M[K]>>;
}[keyof M & string];
