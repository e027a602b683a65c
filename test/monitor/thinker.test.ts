/** A thinker campaign with a ResourceCounter: agent, event and slot records, and pool utilization. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Result } from '../../src/models/result.js';
import { readRunLog } from '../../src/monitor/run-log/reader.js';
import type { AgentRecord, SlotsRecord } from '../../src/monitor/run-log/records.js';
import { RunLog } from '../../src/monitor/run-log/run-log.js';
import { summarize } from '../../src/monitor/report/stats.js';
import { LocalQueues } from '../../src/queue/local.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { agent, AsyncEvent, BaseThinker, eventResponder, resultProcessor, ResourceCounter, taskSubmitter, WorkQueue } from '../../src/thinker/index.js';
import { threadMethods } from '../helpers/methods.js';
import { tempFolder } from './helpers.js';

const TASKS = 12;
type Methods = { sleep: (ms: number) => Promise<number> };

class Campaign extends BaseThinker<Methods> {
  readonly todo = new WorkQueue<number>(Array.from({ length: TASKS }, (_, i) => 1 + (i % 3)));
  readonly halfway = new AsyncEvent();
  processed = 0;
  noticed = false;

  @agent({ startup: true })
  async allocate() {
    await this.rec.reallocate(null, 'sim', 2);
    this.todo.close();
  }

  @taskSubmitter({ taskType: 'sim', workQueue: 'todo' })
  async submit(ms: number) {
    await this.queues.sendInputs('sleep', [ms], { topic: 'sim' });
  }

  @resultProcessor({ topic: 'sim' })
  collect(_result: Result) {
    this.rec.release('sim', 1);
    if (++this.processed === TASKS / 2) this.halfway.set();
    if (this.processed === TASKS) this.done.set();
  }

  @eventResponder({ eventName: 'halfway' })
  notice() {
    this.noticed = true;
  }
}

test('a thinker run logs its agents, events and slots; pool utilization matches the counter', async () => {
  const folder = await tempFolder();
  try {
    const path = join(folder.dir, 'thinker.jsonl');
    const queues = new LocalQueues<Methods>({ topics: ['sim'] });
    const server = new LocalTaskServer(queues, { methods: { sleep: threadMethods().sleep }, threads: 2 });
    const rec = new ResourceCounter(2, ['sim']);
    const thinker = new Campaign(queues, rec);
    // The test keeps its own account of the counter, to check the summary against.
    const busyChanges: { t: number; busy: number; allocated: number }[] = [];
    rec.events.on('change', (change) => busyChanges.push({ t: change.timestamp, busy: rec.allocatedSlots('sim') - rec.availableSlots('sim'), allocated: rec.allocatedSlots('sim') }));
    const runLog = await RunLog.open(path);
    runLog.attachThinker(thinker).attachTaskServer(server, { workers: 2 });
    server.start();
    await thinker.run();
    await queues.sendKillSignal();
    await server.join();
    await queues.close();
    await runLog.close();
    assert.equal(thinker.noticed, true);

    const log = await readRunLog(path);
    assert.deepEqual(log.problems, []);
    const agents = log.records.filter((r): r is AgentRecord => r.type === 'agent');
    for (const name of ['allocate', 'submit', 'collect', 'notice']) {
      assert.ok(agents.some((a) => a.agent === name && a.event === 'started'), `${name} started`);
      assert.ok(agents.some((a) => a.agent === name && a.event === 'stopped' && a.failed === false), `${name} stopped`);
    }
    const eventNames = log.records.flatMap((r) => (r.type === 'event' ? [r.name] : []));
    assert.ok(eventNames.includes('halfway') && eventNames.includes('done'), `events set: ${eventNames.join(', ')}`);
    const slots = log.records.filter((r): r is SlotsRecord => r.type === 'slots');
    assert.equal(slots[0]?.change.kind, 'attach', 'the first slots record is the state when attached');
    assert.ok(slots.some((s) => s.change.kind === 'reallocate' && s.change.to === 'sim' && s.change.slots === 2));
    assert.equal(slots.length, busyChanges.length + 1, 'one record per counter change, plus the initial state');

    const summary = summarize(log);
    assert.equal(summary.tasks, TASKS);
    const pool = summary.utilization.find((p) => p.name === 'sim');
    assert.ok(pool, 'a panel for the sim pool');
    // ∫busy / ∫allocated over the campaign window, from the test's own record of the counter.
    const startEpoch = summary.origin + summary.window.start;
    const endEpoch = summary.origin + summary.window.end;
    let busy = 0;
    let allocated = 0;
    busyChanges.forEach((c, i) => {
      const from = Math.max(c.t, startEpoch);
      const to = Math.min(busyChanges[i + 1]?.t ?? Infinity, endEpoch);
      if (to > from) {
        busy += c.busy * (to - from);
        allocated += c.allocated * (to - from);
      }
    });
    assert.ok(Math.abs(pool.utilization - busy / allocated) < 1e-6, `pool utilization ${pool.utilization} vs ${busy / allocated}`);
    assert.ok(summary.events.some((e) => e.kind === 'agent-started' && e.label === 'agent submit started'));
  } finally {
    await folder.remove();
  }
});
