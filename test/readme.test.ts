/** The README's first campaign, as written there (with the fixture module in place of ./simulate.js). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  BaseThinker,
  LocalQueues,
  LocalTaskServer,
  ResourceCounter,
  agent,
  moduleMethod,
  resultProcessor,
  taskSubmitter,
  type MethodsOf,
  type Result,
} from '../src/index.js';
import type * as sim from './fixtures/readme-simulate.js';

const methods = {
  simulate: moduleMethod<typeof sim.simulate>(new URL('./fixtures/readme-simulate.ts', import.meta.url), 'simulate'),
};
type Methods = MethodsOf<typeof methods>;

class Search extends BaseThinker<Methods> {
  best = Infinity;
  left = 100;
  received = 0;

  @agent({ startup: true })
  async allocate() {
    await this.rec.reallocate(null, 'sim', 'all');
  }

  @taskSubmitter({ taskType: 'sim' })
  async submit() {
    if (this.left-- <= 0) return this.done.set();
    await this.queues.sendInputs('simulate', [Math.random() * 10]);
  }

  @resultProcessor()
  async receive(result: Result) {
    this.rec.release('sim', 1);
    this.received++;
    if (result.success) this.best = Math.min(this.best, result.value as number);
  }
}

it("runs the README's first campaign", async () => {
  const queues = new LocalQueues<Methods>();
  const server = new LocalTaskServer(queues, { methods, threads: 4 }).start();
  const thinker = new Search(queues, new ResourceCounter(4, ['sim']));
  await thinker.run();
  await queues.sendKillSignal();
  await server.join();
  await queues.close();
  assert.equal(thinker.received, 100);
  assert.ok(thinker.best >= 0 && thinker.best < 1, `best ${thinker.best}`);
});
