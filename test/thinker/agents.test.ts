/** The special-purpose agents against real in-process queues and a real task server. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import type { Result } from '../../src/models/result.js';
import { LocalQueues } from '../../src/queue/local.js';
import {
  AsyncEvent,
  BaseThinker,
  ResourceCounter,
  WorkQueue,
  agent,
  eventResponder,
  resultProcessor,
  taskSubmitter,
} from '../../src/thinker/index.js';
import { settled, until, withinDeadline } from './helpers.js';
import { type Methods, rig } from './rig.js';

describe('@resultProcessor', () => {
  test('is called with each result of its topic only, and exits once done is set and none is outstanding', async () => {
    const r = rig(['sim', 'other']);
    class Collector extends BaseThinker<Methods> {
      readonly squares: number[] = [];
      readonly others: string[] = [];
      @agent({ startup: true })
      async send() {
        for (let i = 1; i <= 5; i++) await this.queues.sendInputs('square', [i], { topic: 'sim' });
        await this.queues.sendInputs('echo', ['x'], { topic: 'other' });
      }
      @resultProcessor({ topic: 'sim' })
      collect(result: Result) {
        this.squares.push(result.value as number);
        if (this.squares.length === 5) this.done.set();
      }
      @resultProcessor({ topic: 'other' })
      other(result: Result) {
        this.others.push(result.value as string);
      }
    }
    const thinker = new Collector(r.queues);
    await withinDeadline(thinker.run(), 'the collector');
    assert.deepEqual(thinker.squares.sort((a, b) => a - b), [1, 4, 9, 16, 25]);
    assert.deepEqual(thinker.others, ['x'], 'the other topic was drained too');
    assert.equal(r.queues.activeCount(), 0);
    await r.close();
  });

  test('results narrow by method when the thinker is typed by its methods', async () => {
    const r = rig();
    class Typed extends BaseThinker<Methods> {
      total = 0;
      @agent()
      async send() {
        await this.queues.sendInputs('square', [3]);
      }
      @resultProcessor()
      add(result: import('../../src/thinker/index.js').ResultOf<Typed>) {
        if (result.method === 'square') this.total += result.value ?? 0; // value: number | undefined
      }
    }
    const thinker = new Typed(r.queues);
    await thinker.run();
    assert.equal(thinker.total, 9);
    await r.close();
  });

  test('keeps processing tasks still running when done is set', async () => {
    const r = rig(['slow']);
    class Drain extends BaseThinker<Methods> {
      readonly seen: number[] = [];
      @agent()
      async send() {
        for (const ms of [5, 1, 10]) await this.queues.sendInputs('sleep', [ms], { topic: 'slow' });
        // Returning sets done while all three tasks are still running.
      }
      @resultProcessor({ topic: 'slow' })
      async record(result: Result) {
        await new Promise((resolve) => setImmediate(resolve));
        this.seen.push(result.value as number);
      }
    }
    const thinker = new Drain(r.queues);
    await withinDeadline(thinker.run(), 'draining');
    assert.deepEqual(thinker.seen.sort((a, b) => a - b), [1, 5, 10]);
    await r.close();
  });

  test('two processors of one topic both exit when the last result is taken by either', async () => {
    const r = rig(['sim']);
    class Twins extends BaseThinker<Methods> {
      count = 0;
      @agent()
      async send() {
        for (let i = 0; i < 20; i++) await this.queues.sendInputs('sleep', [i % 3], { topic: 'sim' });
      }
      @resultProcessor({ topic: 'sim' })
      a() {
        this.count++;
      }
      @resultProcessor({ topic: 'sim' })
      b() {
        this.count++;
      }
    }
    const thinker = new Twins(r.queues);
    await withinDeadline(thinker.run(), 'both processors to exit');
    assert.equal(thinker.count, 20);
    await r.close();
  });

  test('a failed task arrives as a failed Result, not as an agent failure', async () => {
    const r = rig();
    class Failing extends BaseThinker<Methods> {
      failure: string | undefined;
      @agent()
      async send() {
        await this.queues.sendInputs('nope' as 'square', [1]);
      }
      @resultProcessor()
      record(result: Result) {
        this.failure = result.failureInfo?.message;
      }
    }
    const thinker = new Failing(r.queues);
    await thinker.run();
    assert.match(thinker.failure ?? '', /Method 'nope' is not served here/);
    await r.close();
  });
});

describe('@taskSubmitter', () => {
  test('is called each time nSlots are acquired, and stops when done is set while it waits', async () => {
    const r = rig(['sim']);
    class Submitter extends BaseThinker<Methods> {
      readonly slotsPerTask = 2;
      submitted = 0;
      processed = 0;
      @agent({ startup: true })
      async allocate() {
        await this.rec.reallocate(null, 'sim', 4);
      }
      @taskSubmitter({ taskType: 'sim', nSlots: 'slotsPerTask' })
      async submit() {
        this.submitted++;
        await this.queues.sendInputs('square', [this.submitted], { topic: 'sim' });
      }
      @resultProcessor({ topic: 'sim' })
      finish() {
        this.processed++;
        if (this.processed === 6) this.done.set();
        else this.rec.release('sim', this.slotsPerTask);
      }
    }
    const rec = new ResourceCounter(4, ['sim']);
    const thinker = new Submitter(r.queues, rec);
    await withinDeadline(thinker.run(), 'the submitter');
    assert.ok(thinker.submitted >= 6, `at least 6 submitted, got ${thinker.submitted}`);
    assert.equal(thinker.processed, thinker.submitted, 'every submitted task was processed');
    assert.equal(rec.waitingRequests('sim'), 0, 'the waiting acquire was cancelled by done');
    await r.close();
  });

  test('with workQueue, is called with each item and returns once the queue is closed and empty', async () => {
    const r = rig(['sim']);
    class Fed extends BaseThinker<Methods> {
      readonly todo = new WorkQueue<number>([1, 2, 3]);
      readonly results: number[] = [];
      @agent({ startup: true })
      async plan() {
        this.todo.push(4, 5);
        this.todo.close();
      }
      @taskSubmitter({ taskType: 'sim', workQueue: 'todo' })
      async submit(x: number) {
        await this.queues.sendInputs('square', [x], { topic: 'sim' });
      }
      @resultProcessor({ topic: 'sim' })
      collect(result: Result) {
        this.rec.release('sim', 1);
        this.results.push(result.value as number);
      }
    }
    const rec = new ResourceCounter(2, ['sim']);
    await rec.reallocate(null, 'sim', 2);
    const thinker = new Fed(r.queues, rec);
    await withinDeadline(thinker.run(), 'the fed submitter');
    assert.deepEqual(thinker.results.sort((a, b) => a - b), [1, 4, 9, 16, 25]);
    assert.equal(rec.availableSlots('sim'), 2, 'every slot came back');
    await r.close();
  });

  test('waiting for an item with slots in hand gives them back when done is set', async () => {
    const queues = rig().queues;
    class Idle extends BaseThinker<Methods> {
      readonly todo = new WorkQueue<number>();
      @taskSubmitter({ taskType: 'sim', workQueue: 'todo' })
      async submit(_x: number) {
        assert.fail('no item was ever pushed');
      }
      @agent()
      async stop() {
        await until(() => this.todo.waiting === 1, 'the submitter to wait for an item');
      }
    }
    const rec = new ResourceCounter(1, ['sim']);
    await rec.reallocate(null, 'sim', 1);
    await withinDeadline(new Idle(queues, rec).run(), 'the idle submitter');
    assert.equal(rec.availableSlots('sim'), 1);
    await queues.close();
  });
  test('a submitter whose slots are always free still lets timers run (no microtask spin)', async () => {
    class Spinner extends BaseThinker {
      calls = 0;
      @taskSubmitter({ taskType: 'sim' })
      spin() {
        this.calls++;
        this.rec.release('sim', 1);
      }
      @agent()
      async stopOnATimer() {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    const rec = new ResourceCounter(1, ['sim']);
    await rec.reallocate(null, 'sim', 1);
    const thinker = new Spinner(new LocalQueues(), rec);
    await withinDeadline(thinker.run(), 'the timer agent to end the spinning submitter');
    assert.ok(thinker.calls > 0);
    assert.equal(rec.availableSlots('sim'), 1);
  });
});

describe('@eventResponder', () => {
  test('runs each time its event is set; the event is cleared once every responder has finished', async () => {
    class Responsive extends BaseThinker {
      readonly poke = new AsyncEvent();
      readonly slowDone = new AsyncEvent();
      readonly log: string[] = [];
      @eventResponder({ eventName: 'poke' })
      async fast() {
        this.log.push('fast');
      }
      @eventResponder({ eventName: 'poke' })
      async slow() {
        await this.slowDone.wait();
        this.slowDone.clear();
        this.log.push('slow');
      }
    }
    const thinker = new Responsive(rig().queues).start();
    thinker.poke.set();
    await until(() => thinker.log.includes('fast'), 'the fast responder');
    assert.equal(thinker.poke.isSet(), true, 'still set: the slow responder is running');
    thinker.slowDone.set();
    await until(() => !thinker.poke.isSet(), 'the event to be cleared');
    assert.deepEqual(thinker.log, ['fast', 'slow']);
    thinker.poke.set();
    thinker.slowDone.set();
    await until(() => thinker.log.length === 4 && !thinker.poke.isSet(), 'a second round');
    thinker.done.set();
    await withinDeadline(thinker.join(), 'responders to stop at done');
    assert.deepEqual(thinker.log.sort(), ['fast', 'fast', 'slow', 'slow']);
    assert.equal(await settled(thinker.join()), true);
  });

  test('a responder that throws fails the run and returns borrowed slots it does not hold', async () => {
    class Broken extends BaseThinker {
      readonly retrain = new AsyncEvent();
      @eventResponder({ eventName: 'retrain', reallocateResources: true, gatherFrom: null, gatherTo: 'ml', disperseTo: null, maxSlots: 2 })
      async train() {
        await this.rec.acquire('ml', 2);
        this.rec.release('ml', 2);
        throw new Error('training crashed');
      }
    }
    const rec = new ResourceCounter(2, ['ml']);
    const thinker = new Broken(rig().queues, rec, { logger: pino({ level: 'silent' }) }).start();
    thinker.retrain.set();
    await assert.rejects(withinDeadline(thinker.join(), 'the failed responder'), /Agent 'train' failed: training crashed/);
    await until(() => rec.unallocatedSlots === 2, 'the borrowed slots to go back');
  });
});
