/**
 * Many short campaigns back to back (a few at a time) on the in-process queues: every campaign
 * must end, with every task's result processed exactly once and every slot returned. A campaign
 * that does not finish fails the test through a hang detector instead of stalling the suite.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Result } from '../../src/models/result.js';
import {
  BaseThinker,
  ResourceCounter,
  WorkQueue,
  agent,
  resultProcessor,
  taskSubmitter,
} from '../../src/thinker/index.js';
import { withinDeadline } from './helpers.js';
import { type Methods, rig } from './rig.js';
import { seededRandom as random } from '../../src/common/random.js';

const CAMPAIGNS = 500;
const PARALLEL = 4;

interface Plan {
  tasks: number;
  slots: number;
  /** Feed the submitter from a WorkQueue (else it counts tasks itself and ends the run). */
  fed: boolean;
  /** Two processors share the topic. */
  twin: boolean;
}

/** Submits `tasks` squares through a WorkQueue; the submitter returning ends the campaign. */
class FedCampaign extends BaseThinker<Methods> {
  readonly todo: WorkQueue<number>;
  readonly seen = new Map<number, number>();
  constructor(queues: ReturnType<typeof rig>['queues'], rec: ResourceCounter, tasks: number) {
    super(queues, rec, { loggerName: 'stress' });
    this.todo = new WorkQueue(Array.from({ length: tasks }, (_, i) => i));
    this.todo.close();
  }
  @agent({ startup: true })
  async allocate() {
    await this.rec.reallocate(null, 'sim', 'all');
  }
  @taskSubmitter({ taskType: 'sim', workQueue: 'todo' })
  async submit(x: number) {
    await this.queues.sendInputs('square', [x], { topic: 'sim' });
  }
  @resultProcessor({ topic: 'sim' })
  collect(result: Result) {
    this.rec.release('sim', 1);
    const x = Math.sqrt(result.value as number);
    this.seen.set(x, (this.seen.get(x) ?? 0) + 1);
  }
}

/** Same, with two processors on the topic. */
class TwinCampaign extends FedCampaign {
  @resultProcessor({ topic: 'sim' })
  collectToo(result: Result) {
    this.collect(result);
  }
}

/** A submitter without a work queue, which sets done itself once it has sent every task. */
class CountedCampaign extends BaseThinker<Methods> {
  readonly seen = new Map<number, number>();
  readonly tasks: number;
  next = 0;
  constructor(queues: ReturnType<typeof rig>['queues'], rec: ResourceCounter, tasks: number) {
    super(queues, rec, { loggerName: 'stress' });
    this.tasks = tasks;
  }
  @agent({ startup: true })
  async allocate() {
    await this.rec.reallocate(null, 'sim', 'all');
  }
  @taskSubmitter({ taskType: 'sim' })
  async submit() {
    if (this.next >= this.tasks) {
      // Everything is sent: give the slot back and end the campaign; the processor drains.
      this.rec.release('sim', 1);
      this.done.set();
      return;
    }
    const x = this.next++;
    await this.queues.sendInputs('square', [x], { topic: 'sim' });
  }
  @resultProcessor({ topic: 'sim' })
  collect(result: Result) {
    this.rec.release('sim', 1);
    const x = Math.sqrt(result.value as number);
    this.seen.set(x, (this.seen.get(x) ?? 0) + 1);
  }
}

async function runCampaign(index: number, plan: Plan): Promise<void> {
  const r = rig(['sim']);
  const rec = new ResourceCounter(plan.slots, ['sim']);
  const thinker = plan.fed
    ? new (plan.twin ? TwinCampaign : FedCampaign)(r.queues, rec, plan.tasks)
    : new CountedCampaign(r.queues, rec, plan.tasks);
  const what = `campaign ${index} (${JSON.stringify(plan)})`;
  await withinDeadline(thinker.run(), what);
  assert.equal(thinker.seen.size, plan.tasks, `${what}: every task's result was processed`);
  for (const [x, times] of thinker.seen) assert.equal(times, 1, `${what}: task ${x} processed ${times} times`);
  assert.equal(r.queues.activeCount(), 0, `${what}: nothing outstanding`);
  assert.equal(rec.availableSlots('sim'), plan.slots, `${what}: every slot returned`);
  assert.equal(rec.waitingRequests('sim'), 0, `${what}: no acquire left waiting`);
  await withinDeadline(r.close(), `${what}: closing`);
}

test(`${CAMPAIGNS} short campaigns of 1-200 instant tasks end cleanly`, { timeout: 60_000 }, async () => {
  const rand = random(20240531);
  const plans: Plan[] = Array.from({ length: CAMPAIGNS }, () => {
    const fed = rand() < 0.7;
    return {
      tasks: 1 + Math.floor(rand() * 200),
      slots: 1 + Math.floor(rand() * 8),
      fed,
      twin: fed && rand() < 0.3,
    };
  });
  let nextPlan = 0;
  const lanes = Array.from({ length: PARALLEL }, async () => {
    while (nextPlan < plans.length) {
      const index = nextPlan++;
      await runCampaign(index, plans[index]!);
    }
  });
  await Promise.all(lanes);
  assert.equal(nextPlan, CAMPAIGNS);
});
