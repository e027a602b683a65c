/**
 * A port of Colmena's reallocation pattern: simulations run on every slot until enough new data
 * has arrived; then an event fires, an event responder borrows slots from simulation for training,
 * trains, and gives them back. The test checks the whole allocation history.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Result } from '../../src/models/result.js';
import {
  AsyncEvent,
  BaseThinker,
  type ResourceChange,
  ResourceCounter,
  WorkQueue,
  agent,
  eventResponder,
  resultProcessor,
  taskSubmitter,
} from '../../src/thinker/index.js';
import { withinDeadline } from './helpers.js';
import { type Methods, rig } from './rig.js';

const TOTAL_SLOTS = 4;
const ROUNDS = 3;
const RETRAIN_EVERY = 10;

class Steering extends BaseThinker<Methods> {
  readonly startTraining = new AsyncEvent();
  readonly todo = new WorkQueue<number>(Array.from({ length: 1000 }, (_, i) => i));
  readonly trainingSlots = 2;
  readonly database: number[] = [];
  readonly models: number[] = [];
  /** [simulation, training] allocations seen by each training round once it holds its slots. */
  readonly duringTraining: [number, number][] = [];
  rounds = 0;

  @agent({ startup: true })
  async allocate() {
    await this.rec.reallocate(null, 'simulation', TOTAL_SLOTS);
  }

  @taskSubmitter({ taskType: 'simulation', workQueue: 'todo' })
  async simulate(x: number) {
    await this.queues.sendInputs('square', [x], { topic: 'simulation' });
  }

  @resultProcessor({ topic: 'simulation' })
  record(result: Result) {
    this.rec.release('simulation', 1);
    this.database.push(result.value as number);
    if (this.database.length % RETRAIN_EVERY === 0 && this.rounds < ROUNDS) this.startTraining.set();
  }

  @eventResponder({
    eventName: 'startTraining',
    reallocateResources: true,
    gatherFrom: 'simulation',
    gatherTo: 'training',
    disperseTo: 'simulation',
    maxSlots: 'trainingSlots',
  })
  async train() {
    this.rounds++;
    await this.rec.acquire('training', this.trainingSlots);
    this.duringTraining.push([this.rec.allocatedSlots('simulation'), this.rec.allocatedSlots('training')]);
    await this.queues.sendInputs('train', [[...this.database]], { topic: 'training' });
    const result = await this.queues.getResult('training');
    this.rec.release('training', this.trainingSlots);
    this.models.push(result.value as number);
    if (this.rounds === ROUNDS) {
      this.todo.clear();
      this.todo.close();
    }
  }
}

test('slots move from simulation to training when the event fires, and back when training ends', async () => {
  const r = rig(['simulation', 'training']);
  const rec = new ResourceCounter(TOTAL_SLOTS, ['simulation', 'training']);
  const history: string[] = [];
  const allocation: [number, number][] = [];
  rec.events.on('change', (change: ResourceChange) => {
    if (change.kind !== 'reallocate') return;
    history.push(`${change.from ?? 'unallocated'} -> ${change.to ?? 'unallocated'}: ${change.slots}`);
    allocation.push([rec.allocatedSlots('simulation'), rec.allocatedSlots('training')]);
  });

  const thinker = new Steering(r.queues, rec);
  await withinDeadline(thinker.run(), 'the steering campaign');

  const round = ['simulation -> training: 1', 'simulation -> training: 1', 'training -> simulation: 2'];
  assert.deepEqual(history, ['unallocated -> simulation: 4', ...round, ...round, ...round]);
  const roundAllocations: [number, number][] = [
    [3, 1],
    [2, 2],
    [4, 0],
  ];
  assert.deepEqual(allocation, [[4, 0], ...roundAllocations, ...roundAllocations, ...roundAllocations]);
  assert.deepEqual(thinker.duringTraining, [
    [2, 2],
    [2, 2],
    [2, 2],
  ]);
  assert.equal(thinker.models.length, ROUNDS);
  assert.ok(thinker.database.length >= ROUNDS * RETRAIN_EVERY);
  // Every model was trained on more data than the one before.
  for (let i = 1; i < thinker.models.length; i++) assert.ok(thinker.models[i]! > thinker.models[i - 1]!);
  // Everything is back where it started, and nothing is outstanding.
  assert.equal(thinker.startTraining.isSet(), false);
  assert.deepEqual(rec.snapshot(), [
    { pool: null, allocated: 0, available: 0, waiting: 0 },
    { pool: 'simulation', allocated: 4, available: 4, waiting: 0 },
    { pool: 'training', allocated: 0, available: 0, waiting: 0 },
  ]);
  assert.equal(r.queues.activeCount(), 0);
  await r.close();
});
