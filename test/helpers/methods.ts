import { inlineMethod, moduleMethod } from '../../src/methods/spec.js';
import type * as fixtures from '../fixtures/methods.js';

const FIXTURES = new URL('../fixtures/methods.ts', import.meta.url);

/** The fixture methods, run on worker threads. */
export function threadMethods() {
  return {
    add: moduleMethod<typeof fixtures.add>(FIXTURES, 'add'),
    echo: moduleMethod<typeof fixtures.echo>(FIXTURES, 'echo'),
    noop: moduleMethod<typeof fixtures.noop>(FIXTURES, 'noop'),
    fail: moduleMethod<typeof fixtures.fail>(FIXTURES, 'fail'),
    sleep: moduleMethod<typeof fixtures.sleep>(FIXTURES, 'sleep'),
    exitThread: moduleMethod<typeof fixtures.exitThread>(FIXTURES, 'exitThread'),
    byteLength: moduleMethod<typeof fixtures.byteLength>(FIXTURES, 'byteLength'),
  };
}

/** An inline method that fails its first `failures` calls, then returns how many calls it took. */
export function flakyMethod(failures: number) {
  let calls = 0;
  return inlineMethod(async (): Promise<number> => {
    calls++;
    if (calls <= failures) throw new Error(`flaky failure ${calls}`);
    return calls;
  });
}
