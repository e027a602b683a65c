/** `import 'colmena'` and every local worker stay light: no Redis client, web server or schema library. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BuiltPackage, buildPackage, probeImport } from '../helpers/module-probe.js';

const HEAVY = ['ioredis', 'hono', '@hono/node-server', 'zod', 'bullmq', 'vega', 'vega-lite', '@resvg/resvg-js'];

describe('light core import', () => {
  let built: BuiltPackage;
  before(async () => {
    built = await buildPackage();
  });
  after(() => built[Symbol.asyncDispose]());

  for (const [what, file] of [
    ['colmena', 'index.js'],
    ['a worker thread', 'task-server/executors/thread-worker.js'],
    ['a worker process', 'task-server/executors/process-worker.js'],
  ] as const) {
    it(`${what} loads none of ${HEAVY.join(', ')}`, async () => {
      const { packages } = await probeImport(`${built.dir}/${file}`);
      assert.deepEqual(packages.filter((name) => HEAVY.includes(name)), []);
    });
  }

  it('each subpath loads what it is for', async () => {
    assert.ok((await probeImport(`${built.dir}/redis.js`)).packages.includes('ioredis'));
    assert.ok((await probeImport(`${built.dir}/dashboard.js`)).packages.includes('hono'));
    assert.ok((await probeImport(`${built.dir}/bullmq.js`)).packages.includes('bullmq'));
  });
});
