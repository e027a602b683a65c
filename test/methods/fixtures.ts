/** Methods the streaming, keyword and task-context tests run on every executor. */
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { taskContext } from '../../src/methods/task-context.js';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Yields 1..count, and after each yield waits until the thinker has acknowledged that item (a file
 * `ack-<i>` in `dir`): it can only go on if the item reached the thinker while the generator was
 * still suspended after yielding it. Returns `returned` (or nothing when it is null).
 */
export async function* lockstep(dir: string, count: number, returned: string | null): AsyncGenerator<number, string | undefined> {
  for (let i = 1; i <= count; i++) {
    yield i;
    while (!(await exists(join(dir, `ack-${i}`)))) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return returned ?? undefined;
}

/** Yields `count` values at once, then hangs far longer than any test's timeout. */
export async function* yieldThenHang(count: number): AsyncGenerator<number, void> {
  for (let i = 1; i <= count; i++) yield i;
  // Unref'd: on the inline executor an abandoned generator must not keep the test process alive.
  await new Promise((resolve) => setTimeout(resolve, 60_000).unref());
}

/** Python-style keyword target: a - b, with a default for `scale`. */
export function subtract(a: number, b: number, scale = 1): number {
  return (a - b) * scale;
}

/** What the method sees of its task, with the signal reduced to whether it is there and not aborted. */
export function whoAmI(tag: string): Record<string, unknown> {
  const context = taskContext();
  return {
    tag,
    taskId: context.taskId,
    method: context.method,
    topic: context.topic,
    resources: context.resources,
    signal: typeof context.signal.addEventListener === 'function' && context.signal.aborted === false,
  };
}

/** Calls taskContext() without having asked for it. */
export function noContext(): unknown {
  return taskContext();
}

/** Records in `file` that the stop signal fired (then ends), for the inline executor. */
export async function waitForStop(file: string): Promise<string> {
  const { signal } = taskContext();
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
  await writeFile(file, 'stopped');
  return 'stopped';
}
