import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import type { IntermediateReply, TaskPayload, TaskReply } from '../../methods/envelope.js';
import { siblingModule } from '../../common/sibling.js';
import type { StoreConfig } from '../../proxy/store.js';
import type { ThreadMessage, ThreadTask, ThreadWorkerData } from './thread-protocol.js';
import { ThreadSlots } from './thread-slots.js';
import { startThread } from './thread-start.js';

const WORKER_FILE = siblingModule(import.meta.url, 'thread-worker');

/** A task in the executor's hands, and where it sits: queued or running on a thread, or waiting for one. */
export interface HandedTask {
  readonly module: string;
  readonly exportName: string;
  readonly payload: TaskPayload;
  /** Set for a streaming generator: where its yields go. */
  readonly onIntermediate: ((item: IntermediateReply) => void) | undefined;
  /** Hand-over order: tasks moved off a thread go to the next one in this order. */
  readonly order: number;
  /** The thread it is on, and its slot there at which use; `null` while it waits for a thread. */
  thread: WorkerThread | null;
  slot: number;
  use: number;
}

export interface ThreadEvents<T extends HandedTask> {
  /** The thread has started and listens. */
  ready(thread: WorkerThread<T>): void;
  /** `task` ended on `thread`, which holds one task fewer. */
  replied(task: T, reply: TaskReply, thread: WorkerThread<T>): void;
  /** The thread ended by itself (process.exit, an uncaught error, out of memory). */
  died(thread: WorkerThread<T>, error: Error): void;
}

/** What {@link WorkerThread.retire} leaves: the tasks taken back unstarted, and the one still running. */
interface Retired<T> {
  queued: T[];
  running: T | null;
}

/**
 * The server's side of one worker thread: its slot table, the tasks queued or running on it, and
 * the batch going out: tasks handed to a busy thread in one turn of the event loop leave in one
 * message. It holds the process open only while it has tasks.
 */
export class WorkerThread<T extends HandedTask = HandedTask> {
  readonly slots: ThreadSlots;
  /** `performance.now()` when it said it was up; `Infinity` until then. */
  readyAt = Infinity;
  /** Tasks queued or running on it. */
  load = 0;
  /** `false` once retired (being stopped, or dead): it takes no tasks. */
  #accepting = true;
  /** Set when this side ends the thread, so its exit is not taken for a crash. */
  #ending: Promise<void> | null = null;
  #error: Error | null = null;
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #events: ThreadEvents<T>;
  /** Tasks by slot. */
  readonly #held: (T | undefined)[];
  readonly #free: number[];
  #batch: ThreadTask[] = [];

  /** @param size slots in its table: the most tasks it holds at once. */
  constructor(size: number, stores: StoreConfig[], events: ThreadEvents<T>) {
    this.slots = new ThreadSlots(size);
    this.#held = new Array<T | undefined>(size);
    // Popped from the end: slot 0 first.
    this.#free = Array.from({ length: size }, (_, index) => size - 1 - index);
    this.#events = events;
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const workerData: ThreadWorkerData = { stores, slots: this.slots.buffer, port: port2, entry: WORKER_FILE.href };
    this.#worker = startThread({ workerData, transferList: [port2] });
    port1.on('message', (message: ThreadMessage) => {
      this.#receive(message);
      // The rest of what has arrived meanwhile, without an event each (cheaper).
      this.#receivePosted();
    });
    this.#worker.on('error', (error) => (this.#error ??= error));
    this.#worker.on('exit', (code) => {
      if (this.#ending) return;
      this.#ending = Promise.resolve();
      this.#events.died(this, this.#error ?? new Error(`The worker thread exited with code ${code} while running a task`));
      this.#port.close();
    });
    this.#hold(false);
  }

  /** It has started and said so; until then it is slower to reach than a thread already up. */
  get ready(): boolean {
    return this.readyAt !== Infinity;
  }

  /** It can take one more task. */
  get hasRoom(): boolean {
    return this.#accepting && this.#free.length > 0;
  }

  /** Queue `task` on this thread; it leaves with every other task handed over in this tick. */
  assign(task: T): void {
    const slot = this.#free.pop()!;
    const use = this.slots.offer(slot);
    task.thread = this;
    task.slot = slot;
    task.use = use;
    this.#held[slot] = task;
    if (this.load++ === 0) this.#hold(true);
    this.#batch.push({ slot, use, module: task.module, exportName: task.exportName, payload: task.payload, stream: task.onIntermediate !== undefined });
    if (this.#batch.length > 1) return;
    // An idle thread gets its task at once; a busy one gets, in one message after this turn of the
    // event loop, every task handed to it meanwhile (a message costs far more than a task in it).
    if (this.load === 1) queueMicrotask(this.#send);
    else setImmediate(this.#send);
  }

  readonly #send = (): void => {
    const batch = this.#batch;
    this.#batch = [];
    if (!this.#ending) this.#port.postMessage(batch);
  };

  /** Take `task` back before it starts (to cancel it, or move it); `false` once it has started. */
  takeBack(task: T): boolean {
    if (!this.slots.takeBack(task.slot, task.use)) return false;
    this.#release(task);
    return true;
  }

  /** Take back up to `count` of its unstarted tasks, the last handed over first (to move them to an idle thread); returned in hand-over order. */
  takeBackNewest(count: number): T[] {
    const newestFirst = this.#held.filter((task) => task !== undefined).sort((a, b) => b.order - a.order);
    const taken: T[] = [];
    for (const task of newestFirst) {
      if (taken.length === count) break;
      if (this.takeBack(task)) taken.push(task);
    }
    return taken.reverse();
  }

  /**
   * Stop handing it tasks and take back every task it has not started (so it starts no other),
   * after handling the replies it already posted: what is left running is at most one task.
   */
  retire(): Retired<T> {
    this.#accepting = false;
    const queued: T[] = [];
    for (const task of this.#held) if (task && this.takeBack(task)) queued.push(task);
    this.#receivePosted();
    const running = this.#held.find((task) => task !== undefined) ?? null;
    return { queued, running };
  }

  /** Take tasks again after a {@link retire} that found the task it meant to stop already ended. */
  reopen(): void {
    if (!this.#ending) this.#accepting = true;
  }

  /** End the thread; what it was running is abandoned. Resolves once it has exited. */
  terminate(): Promise<void> {
    this.#accepting = false;
    this.#ending ??= this.#worker.terminate().then(
      () => this.#port.close(),
      () => this.#port.close(),
    );
    return this.#ending;
  }

  #release(task: T): void {
    this.#held[task.slot] = undefined;
    this.#free.push(task.slot);
    task.thread = null;
    if (--this.load === 0) this.#hold(false);
  }

  /** Handle, now, every message the thread has posted so far. */
  #receivePosted(): void {
    for (let posted = receiveMessageOnPort(this.#port); posted; posted = receiveMessageOnPort(this.#port)) this.#receive(posted.message as ThreadMessage);
  }

  #receive(message: ThreadMessage): void {
    if (message.kind === 'ready') {
      this.readyAt = performance.now();
      this.#events.ready(this);
      return;
    }
    const task = this.#held[message.slot];
    // Not the task the thread means: already answered (stopped, taken back) and its slot reused.
    if (task === undefined || task.use !== message.use) return;
    if (message.kind === 'item') {
      task.onIntermediate?.(message.item);
    } else {
      this.#release(task);
      this.#events.replied(task, message.reply, this);
    }
  }

  /** Keep the process open while the thread has tasks, not while it idles. */
  #hold(hold: boolean): void {
    if (hold) {
      this.#worker.ref();
      this.#port.ref();
    } else {
      this.#worker.unref();
      this.#port.unref();
    }
  }
}
