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

/** Fixture methods run on the given executor, for the behaviour every executor must share. */
export function fixtureMethods(executor: 'threads' | 'processes' | (string & {})) {
  return {
    sleep: moduleMethod<typeof fixtures.sleep>(FIXTURES, 'sleep', { executor }),
    spin: moduleMethod<typeof fixtures.spin>(FIXTURES, 'spin', { executor }),
    add: moduleMethod<typeof fixtures.add>(FIXTURES, 'add', { executor }),
    countdown: moduleMethod<typeof fixtures.countdown>(FIXTURES, 'countdown', { executor, generator: 'stream' }),
    squares: moduleMethod<typeof fixtures.squares>(FIXTURES, 'squares', { executor, generator: 'collect-with-return' }),
    squaresList: moduleMethod<typeof fixtures.squares>(FIXTURES, 'squares', { executor, generator: 'collect' }),
    squaresUndeclared: moduleMethod<typeof fixtures.squares>(FIXTURES, 'squares', { executor }),
    exitProcess: moduleMethod<typeof fixtures.exitProcess>(FIXTURES, 'exitProcess', { executor }),
  };
}
