import { DEFAULT_WIRE_LIMITS } from '../common/limits.js';
import { InvalidArgumentError } from '../common/errors.js';
import { checkEncodable } from './serialization.js';

/** What a method name may be: an identifier as in Python (plus '.' and '-'), so every server can serve it. */
export const METHOD_NAME_PATTERN = /^[A-Za-z_][\w.-]*$/;

/**
 * Check, on the thinker side, what a request would otherwise carry to a server that must refuse it
 * (or to an encoder that would throw a bare TypeError or RangeError).
 *
 * @throws InvalidArgumentError for a method name that no server can serve.
 * @throws SerializationError naming the path inside `taskInfo` that JSON cannot carry.
 */
export function checkRequest(method: unknown, taskInfo: unknown): void {
  const limit = DEFAULT_WIRE_LIMITS.maxNameLength;
  if (typeof method !== 'string' || !METHOD_NAME_PATTERN.test(method) || method.length > limit) {
    throw new InvalidArgumentError(
      `sendInputs(method): the method name must be a string of letters, digits, '_', '.' or '-' starting with a letter or '_', ` +
        `at most ${limit} characters, got ${typeof method === 'string' ? JSON.stringify(method.slice(0, 80)) : typeof method}`,
    );
  }
  if (taskInfo === undefined) return;
  if (typeof taskInfo !== 'object' || taskInfo === null || Array.isArray(taskInfo)) {
    throw new InvalidArgumentError(`sendInputs(..., { taskInfo }): taskInfo must be a plain object, got ${Array.isArray(taskInfo) ? 'an array' : taskInfo === null ? 'null' : typeof taskInfo}`);
  }
  // Task info rides the message itself, so the wire's nesting limit applies (less its own level).
  checkEncodable('json', taskInfo, 'taskInfo', DEFAULT_WIRE_LIMITS.maxNestingDepth - 2);
}
