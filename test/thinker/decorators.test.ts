/**
 * Decorator declarations: what they record, and how misuse fails (at class definition, at
 * construction, or at start, whichever is the first moment it can be seen). Lines marked
 * `@ts-expect-error` also show that the same mistake fails to compile.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidStateError } from '../../src/common/errors.js';
import type { Result } from '../../src/models/result.js';
import { LocalQueues } from '../../src/queue/local.js';
import {
  AsyncEvent,
  BaseThinker,
  ResourceCounter,
  ThinkerDefinitionError,
  WorkQueue,
  agent,
  eventResponder,
  resultProcessor,
  taskSubmitter,
} from '../../src/thinker/index.js';
import './helpers.js';

const definitionError = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof ThinkerDefinitionError, `expected a ThinkerDefinitionError, got ${String(error)}`);
  assert.equal(error.code, 'INVALID_ARGUMENT');
  assert.match(error.message, pattern);
  return true;
};

describe('decorators record agents', () => {
  test('listAgents describes every agent in declaration order, with its options', () => {
    class Full extends BaseThinker {
      readonly retrain = new AsyncEvent();
      readonly todo = new WorkQueue<string>();
      readonly width = 2;
      @agent
      bare() {}
      @agent({ startup: true })
      async setup() {}
      @resultProcessor({ topic: 'sim' })
      process(_result: Result) {}
      @taskSubmitter({ taskType: 'sim', nSlots: 'width', workQueue: 'todo' })
      submit(_item: string) {}
      @eventResponder({ eventName: 'retrain', reallocateResources: true, gatherFrom: 'sim', gatherTo: 'ml', disperseTo: null, maxSlots: 'width', slotStep: 2 })
      async train() {}
    }
    assert.deepEqual(Full.listAgents(), [
      { kind: 'agent', name: 'bare', startup: false },
      { kind: 'agent', name: 'setup', startup: true },
      { kind: 'resultProcessor', name: 'process', startup: false, topic: 'sim' },
      { kind: 'taskSubmitter', name: 'submit', startup: false, taskType: 'sim', nSlots: 'width', workQueue: 'todo' },
      {
        kind: 'eventResponder',
        name: 'train',
        startup: false,
        eventName: 'retrain',
        reallocation: { gatherFrom: 'sim', gatherTo: 'ml', disperseTo: null, maxSlots: 'width', slotStep: 2 },
      },
    ]);
    const thinker = new Full(new LocalQueues({ topics: ['sim'] }), new ResourceCounter(2, ['sim', 'ml']));
    assert.deepEqual(thinker.listAgents(), Full.listAgents());
  });

  test('subclasses inherit agents; re-decorating a name replaces it; an undecorated override still runs as the agent', async () => {
    const ran: string[] = [];
    class Parent extends BaseThinker {
      @agent()
      async a() {
        ran.push('parent a');
      }
      @agent()
      async b() {
        ran.push('parent b');
      }
    }
    class Child extends Parent {
      @agent({ startup: true })
      override async a() {
        ran.push('child a');
      }
      override async b() {
        ran.push('child b');
      }
      @agent()
      async c() {
        ran.push('child c');
      }
    }
    assert.deepEqual(
      Parent.listAgents().map((info) => `${info.name}:${info.startup}`),
      ['a:false', 'b:false'],
    );
    assert.deepEqual(
      Child.listAgents().map((info) => `${info.name}:${info.startup}`),
      ['a:true', 'b:false', 'c:false'],
    );
    await new Child(new LocalQueues()).run();
    assert.deepEqual(ran.sort(), ['child a', 'child b', 'child c']);
  });

  test('private methods can be agents', async () => {
    let ran = false;
    class Private extends BaseThinker {
      @agent()
      async #hidden() {
        ran = true;
      }
    }
    assert.deepEqual(
      Private.listAgents().map((info) => info.name),
      ['#hidden'],
    );
    await new Private(new LocalQueues()).run();
    assert.equal(ran, true);
  });
});

describe('misuse fails when the class is defined', () => {
  test('on something other than a method', () => {
    assert.throws(() => {
      class Bad extends BaseThinker {
        // @ts-expect-error -- agents are methods
        @agent() value = 1;
      }
      return Bad;
    }, definitionError(/@agent on 'value': agents must be methods, but 'value' is a field/));
    assert.throws(() => {
      class Bad extends BaseThinker {
        // @ts-expect-error -- agents are methods
        @resultProcessor() get thing() {
          return 1;
        }
      }
      return Bad;
    }, definitionError(/'thing' is a getter/));
  });

  test('on a static method', () => {
    assert.throws(() => {
      class Bad extends BaseThinker {
        // @ts-expect-error -- agents are instance methods
        @agent() static go() {}
      }
      return Bad;
    }, definitionError(/instance methods, not static/));
  });

  test('on a generator method', () => {
    assert.throws(() => {
      class Bad extends BaseThinker {
        @agent() async *go() {}
      }
      return Bad;
    }, definitionError(/cannot be generator methods/));
  });

  test('with the wrong parameters', () => {
    assert.throws(() => {
      class Bad extends BaseThinker {
        // @ts-expect-error -- agents take no arguments
        @agent() go(_count: number) {}
      }
      return Bad;
    }, definitionError(/declares 1 required parameter\(s\), but it is called with no arguments/));
    assert.throws(() => {
      class Bad extends BaseThinker {
        // @ts-expect-error -- a result processor takes one Result
        @resultProcessor() go(_a: Result, _b: number) {}
      }
      return Bad;
    }, definitionError(/called with one argument, the Result/));
    assert.throws(() => {
      class Bad extends BaseThinker {
        // @ts-expect-error -- without workQueue, a submitter gets no item
        @taskSubmitter({ taskType: 'sim' }) go(_item: number) {}
      }
      return Bad;
    }, definitionError(/no arguments \(or one item, with the workQueue option\)/));
  });

  test('without the options a decorator needs, or with unknown ones', () => {
    assert.throws(() => {
      class Bad extends BaseThinker {
        // @ts-expect-error -- options are required
        @eventResponder go() {}
      }
      return Bad;
    }, definitionError(/@eventResponder needs options: write @eventResponder\(\{ \.\.\. \}\)/));
    assert.throws(() => {
      class Bad extends BaseThinker {
        // @ts-expect-error -- misspelt option
        @resultProcessor({ topics: 'sim' }) go(_r: Result) {}
      }
      return Bad;
    }, definitionError(/unknown option\(s\) topics\. Allowed: topic/));
    assert.throws(() => agent({ startup: 'yes' as unknown as boolean }), definitionError(/startup must be true or false/));
  });

  test('with option values out of range', () => {
    assert.throws(() => taskSubmitter({ taskType: '' }), definitionError(/taskType must name a resource pool/));
    assert.throws(() => taskSubmitter({ taskType: 'sim', nSlots: 0 }), definitionError(/nSlots.*positive integer/));
    assert.throws(() => taskSubmitter({ taskType: 'sim', workQueue: '' }), definitionError(/workQueue must name a WorkQueue property/));
    assert.throws(() => resultProcessor({ topic: '' }), definitionError(/topic must be a non-empty string/));
    assert.throws(() => eventResponder({ eventName: '' }), definitionError(/eventName must name an AsyncEvent property/));
    assert.throws(() => eventResponder({ eventName: 'done' }), definitionError(/cannot respond to it/));
    assert.throws(() => eventResponder({ eventName: 'e', reallocateResources: true, gatherFrom: 'a', disperseTo: 'a' }), definitionError(/needs 'gatherTo'/));
    assert.throws(
      () => eventResponder({ eventName: 'e', reallocateResources: true, gatherFrom: 'a', gatherTo: 'a', disperseTo: null }),
      definitionError(/gatherFrom and gatherTo are both a/),
    );
    assert.throws(
      () => eventResponder({ eventName: 'e', reallocateResources: true, gatherFrom: null, gatherTo: 'a', disperseTo: null, maxSlots: -1 }),
      definitionError(/maxSlots.*expected a non-negative integer/),
    );
    assert.throws(
      () => eventResponder({ eventName: 'e', reallocateResources: true, gatherFrom: null, gatherTo: 'a', disperseTo: null, slotStep: 0 }),
      definitionError(/slotStep must be a positive integer/),
    );
  });

  test('called as a plain function', () => {
    assert.throws(() => (agent() as (v: unknown, c: unknown) => void)(() => {}, undefined), definitionError(/was called as a function/));
  });
});

describe('misuse fails when the thinker is constructed', () => {
  test('a topic the queues do not have', () => {
    class Bad extends BaseThinker {
      @resultProcessor({ topic: 'simulaton' })
      go(_r: Result) {}
    }
    assert.throws(() => new Bad(new LocalQueues({ topics: ['simulation'] })), definitionError(/topic 'simulaton' is not a topic of the queues \(default, simulation\)/));
  });

  test('pools without a ResourceCounter, or pools the counter does not have', () => {
    class Submits extends BaseThinker {
      @taskSubmitter({ taskType: 'sim' })
      go() {}
    }
    assert.throws(() => new Submits(new LocalQueues()), definitionError(/Submits\.go uses resource pools \(taskType\), but the thinker was created without a ResourceCounter/));
    assert.throws(() => new Submits(new LocalQueues(), new ResourceCounter(1, ['simulation'])), definitionError(/taskType is 'sim', which the ResourceCounter does not have\. Its pools: null, simulation/));
    class Borrows extends BaseThinker {
      readonly e = new AsyncEvent();
      @eventResponder({ eventName: 'e', reallocateResources: true, gatherFrom: 'sim', gatherTo: 'gpu', disperseTo: 'sim' })
      go() {}
    }
    assert.throws(() => new Borrows(new LocalQueues(), new ResourceCounter(1, ['sim'])), definitionError(/gatherTo is 'gpu'/));
  });
});

describe('misuse of named properties fails at start', () => {
  test('an event name that is not an AsyncEvent property', async () => {
    class Bad extends BaseThinker {
      readonly retrain = true;
      // @ts-expect-error -- 'retrain' is not an AsyncEvent
      @eventResponder({ eventName: 'retrain' }) go() {}
    }
    const thinker = new Bad(new LocalQueues());
    assert.throws(() => thinker.start(), definitionError(/'retrain' property must be an AsyncEvent, got boolean true\. Declare it as a field: `readonly retrain = new AsyncEvent\(\);`/));
    await assert.rejects(thinker.run(), ThinkerDefinitionError);
    assert.equal(thinker.state, 'created', 'nothing started');
    class Missing extends BaseThinker {
      // @ts-expect-error -- there is no 'retrain' property
      @eventResponder({ eventName: 'retrain' }) go() {}
    }
    assert.throws(() => new Missing(new LocalQueues()).start(), definitionError(/got undefined \(no such property\)/));
  });

  test('an nSlots or maxSlots property that is not a count', () => {
    class Bad extends BaseThinker {
      readonly width = 'two';
      // @ts-expect-error -- 'width' is not a number
      @taskSubmitter({ taskType: 'sim', nSlots: 'width' }) go() {}
    }
    assert.throws(() => new Bad(new LocalQueues(), new ResourceCounter(1, ['sim'])).start(), definitionError(/nSlots: the thinker's 'width' property must be an integer of at least 1, got string "two"/));
    class BadCap extends BaseThinker {
      readonly e = new AsyncEvent();
      readonly cap = -1;
      @eventResponder({ eventName: 'e', reallocateResources: true, gatherFrom: null, gatherTo: 'sim', disperseTo: null, maxSlots: 'cap' })
      go() {}
    }
    assert.throws(() => new BadCap(new LocalQueues(), new ResourceCounter(1, ['sim'])).start(), definitionError(/maxSlots: the thinker's 'cap' property must be an integer of at least 0, got number -1/));
  });

  test('a workQueue property that is not a WorkQueue, or items of the wrong type', () => {
    class Bad extends BaseThinker {
      readonly todo: number[] = [];
      // @ts-expect-error -- 'todo' is not a WorkQueue
      @taskSubmitter({ taskType: 'sim', workQueue: 'todo' }) go(_item: number) {}
    }
    assert.throws(() => new Bad(new LocalQueues(), new ResourceCounter(1, ['sim'])).start(), definitionError(/'todo' property must be a WorkQueue, got Array/));
    class WrongItem extends BaseThinker {
      readonly todo = new WorkQueue<number>();
      // @ts-expect-error -- the queue holds numbers, not strings
      @taskSubmitter({ taskType: 'sim', workQueue: 'todo' }) go(_item: string) {}
    }
    assert.ok(WrongItem);
  });

  test('the rec getter names the missing ResourceCounter', () => {
    class NoRec extends BaseThinker {}
    assert.throws(() => new NoRec(new LocalQueues()).rec, InvalidStateError);
  });
});

describe('porting conveniences: Colmena decorator forms', () => {
  test('bare @resultProcessor listens on default; bare and empty @taskSubmitter take the only pool', async () => {
    class Ported extends BaseThinker {
      readonly seen: unknown[] = [];
      submitted = 0;
      @resultProcessor
      store(result: Result) {
        this.seen.push(result.value);
        this.rec.release('sim', 1);
        if (this.seen.length === 4) this.done.set();
      }
      @taskSubmitter
      async submit() {
        await this.queues.sendInputs('echo', [this.submitted++]);
      }
      @taskSubmitter()
      async submitToo() {
        await this.queues.sendInputs('echo', [100 + this.submitted++]);
      }
    }
    const infos = Ported.listAgents();
    assert.deepEqual(
      infos.map((info) => [info.name, info.kind, info.kind === 'taskSubmitter' ? info.taskType : info.kind === 'resultProcessor' ? info.topic : null]),
      [
        ['store', 'resultProcessor', 'default'],
        ['submit', 'taskSubmitter', undefined],
        ['submitToo', 'taskSubmitter', undefined],
      ],
    );
    const queues = new LocalQueues();
    const thinker = new Ported(queues, new ResourceCounter(2, ['sim']));
    assert.deepEqual(
      thinker.listAgents().filter((info) => info.kind === 'taskSubmitter').map((info) => info.kind === 'taskSubmitter' && info.taskType),
      ['sim', 'sim'],
    );
    await thinker.rec.reallocate(null, 'sim', 2);
    // Play the task server: echo each request back.
    const server = (async () => {
      for (;;) {
        const message = await queues.getTask();
        if (message.kind !== 'task') return;
        message.task.success = true;
        message.task.complete = true;
        message.task.encodedValue = message.task.inputs[0][0]!;
        await queues.sendResult(message.task);
      }
    })();
    await thinker.run();
    await queues.sendKillSignal();
    await server;
    assert.equal(thinker.seen.length >= 4, true);
    await queues.close();
  });

  test('a taskSubmitter without taskType is refused with several pools, naming them', () => {
    class Ambiguous extends BaseThinker {
      @taskSubmitter() go() {}
    }
    assert.throws(
      () => new Ambiguous(new LocalQueues(), new ResourceCounter(2, ['sim', 'ml'])),
      definitionError(/Ambiguous\.go: @taskSubmitter names no taskType.*2 pools \(sim, ml\).*@taskSubmitter\(\{ taskType: '\.\.\.' \}\)/),
    );
  });
});
