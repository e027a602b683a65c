/**
 * A message can name object stores only by id, among those the process was configured with. Each
 * attack of issue 15 is tried on the inline, threads, processes and BullMQ (a real `colmena worker`)
 * executors behind Redis queues,
 * with the raw elements an attacker would push, and the refusal is checked where it would show:
 * the file system, a listening socket, Redis's client list, and the answer itself.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { inlineMethod, moduleMethod } from '../../src/methods/spec.js';
import { parseLenientJson } from '../../src/models/lenient-json.js';
import { FileStore } from '../../src/proxy/file-store.js';
import { REFERENCE_PREFIX } from '../../src/models/value-proxy.js';
import { RedisQueues } from '../../src/queue/redis.js';
import { LocalTaskServer } from '../../src/task-server/local.js';
import { BullmqExecutor } from '../../src/task-server/bullmq/executor.js';
import { WorkerFleet } from '../fixtures/bullmq-workers.js';
import { redisFixture } from '../helpers/redis.js';

const FIXTURES = new URL('../fixtures/methods.ts', import.meta.url);
const CONTRACT_METHODS = new URL('../fixtures/contract-methods.ts', import.meta.url);
const redis = redisFixture();
let dir: string;
let listener: Server;
let listenerPort: number;
let connectionsToListener = 0;
let raw: Redis;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'colmena-security-'));
  await redis.start();
  raw = new Redis(redis.url);
  // A plain TCP listener standing for "any host and port": nothing may connect to it.
  listener = createServer((socket) => {
    connectionsToListener++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerPort = (listener.address() as { port: number }).port;
});
after(async () => {
  raw.disconnect();
  listener.close();
  await rm(dir, { recursive: true, force: true });
  await redis.stop();
});

const ref = (fields: Record<string, unknown>): string => REFERENCE_PREFIX + JSON.stringify(fields);

/** A request element as Python's thinker writes it (JSON-encoded inputs, no other fields needed). */
function request(taskId: string, method: string, args: string[], extra: Record<string, unknown> = {}): string {
  const body = { task_id: taskId, method, ...extra, inputs: [args, {}] };
  return `default${JSON.stringify(body)}`;
}

async function redisClients(): Promise<number> {
  const list = (await raw.call('CLIENT', 'LIST')) as string;
  return list.trim().split('\n').length;
}

const fleet = new WorkerFleet();
after(() => fleet.killAll());

for (const executor of ['inline', 'threads', 'processes', 'bullmq'] as const) {
  describe(`hostile references on the ${executor} executor`, () => {
    let prefix: string;
    let queues: RedisQueues;
    let server: LocalTaskServer;
    let storeDir: string;
    let store: FileStore;
    const answers = new Map<string, Record<string, unknown>[]>();

    /** Push elements, then wait for one answer per task id on the default topic. */
    async function attack(elements: [taskId: string, element: string][]): Promise<Map<string, Record<string, unknown>>> {
      for (const [, element] of elements) await raw.rpush(`${prefix}_requests`, element);
      const wanted = new Set(elements.map(([id]) => id));
      const deadline = Date.now() + 30_000;
      while ([...wanted].some((id) => !answers.has(id))) {
        assert.ok(Date.now() < deadline, `no answer for ${[...wanted].filter((id) => !answers.has(id)).join(', ')}`);
        const popped = await raw.blpop(`${prefix}_default_result`, 1);
        if (!popped) continue;
        const body = parseLenientJson(popped[1]) as Record<string, unknown>;
        const id = String(body.task_id);
        answers.set(id, [...(answers.get(id) ?? []), body]);
      }
      return new Map([...wanted].map((id) => [id, answers.get(id)![0]!]));
    }

    const failure = (answer: Record<string, unknown>): string => {
      assert.equal(answer.success, false, `expected a refusal, got ${JSON.stringify(answer).slice(0, 300)}`);
      return String((answer.failure_info as { message?: string } | null)?.message ?? '');
    };

    before(async () => {
      prefix = redis.prefix();
      storeDir = join(dir, `store-${executor}`);
      store = new FileStore({ dir: storeDir, id: `server-store-${executor}`, maxObjectBytes: 1024 * 1024 });
      // What an attacker who can write into the store's directory could leave there.
      await symlink('/etc/passwd', join(storeDir, 'passwd-link'));
      await symlink('/dev/zero', join(storeDir, 'zero'));
      queues = new RedisQueues({ url: redis.url, prefix, role: 'server' });
      const echo =
        executor === 'inline' ? inlineMethod((value: unknown) => value) : moduleMethod(executor === 'bullmq' ? CONTRACT_METHODS : FIXTURES, 'echo', { executor });
      let executors = {};
      if (executor === 'bullmq') {
        // A real `colmena worker`, given the store as a deployment would (COLMENA_STORES).
        const bullPrefix = `${prefix}-bullmq`;
        const env = { COLMENA_STORES: JSON.stringify([store.config()]) };
        await fleet.spawn({ url: redis.url, prefix: bullPrefix, executor: 'bullmq', methods: fileURLToPath(CONTRACT_METHODS), concurrency: 1, env });
        executors = { bullmq: new BullmqExecutor('bullmq', { url: redis.url, prefix: bullPrefix }) };
      }
      server = new LocalTaskServer(queues, { methods: { echo }, stores: [store], threads: 1, processes: 1, executors }).start();
    });
    after(async () => {
      await raw.rpush(`${prefix}_requests`, 'defaultnull');
      await server.join();
      await queues.close();
      await store.close();
    });

    it('reads no file through an input reference: old descriptors, unknown ids, links, oversize and device reads', async () => {
      const passwd = await readFile('/etc/passwd', 'utf8');
      const answers = await attack([
        ['desc', request('desc', 'echo', [ref({ store: { kind: 'file', dir: '/etc' }, key: 'passwd', bytes: 1, binary: false }), '1'])],
        ['id', request('id', 'echo', [ref({ store: 'file:/etc', key: 'passwd', bytes: 1, binary: false })])],
        ['dots', request('dots', 'echo', [ref({ store: store.id, key: '../../../etc/passwd', bytes: 10, binary: false })])],
        ['link', request('link', 'echo', [ref({ store: store.id, key: 'passwd-link', bytes: Buffer.byteLength(passwd), binary: false })])],
        ['zero-big', request('zero-big', 'echo', [ref({ store: store.id, key: 'zero', bytes: 5_000_000_000, binary: false })])],
        ['zero', request('zero', 'echo', [ref({ store: store.id, key: 'zero', bytes: 100, binary: false })])],
      ]);
      assert.match(failure(answers.get('desc')!), /'store' must be a store id/);
      const unknown = failure(answers.get('id')!);
      assert.match(unknown, /Unknown object store 'file:\/etc'/);
      assert.match(unknown, /Stores are configured/);
      assert.match(unknown, new RegExp(`'${store.id}'`), 'names the stores it does know');
      assert.match(failure(answers.get('dots')!), /'key' must match/);
      assert.match(failure(answers.get('link')!), /symbolic link/);
      assert.match(failure(answers.get('zero-big')!), /over the 1048576-byte limit .* maxObjectBytes/);
      assert.match(failure(answers.get('zero')!), /symbolic link/);
      const firstLine = passwd.split('\n')[0]!;
      for (const answer of answers.values()) assert.ok(!JSON.stringify(answer).includes(firstLine), 'no file content in an answer');
      for (const [id, list] of answers) assert.equal(list !== undefined, true, id);
    });

    it('writes no file and opens no connection through value_proxy', async () => {
      const writeDir = join(dir, `written-by-message-${executor}`);
      const before = await redisClients();
      const answers = await attack([
        ['write', request('write', 'echo', ['"x"'], { value_proxy: { store: { kind: 'file', dir: writeDir }, threshold_bytes: 0 } })],
        ['connect', request('connect', 'echo', ['"x"'], { value_proxy: { store: { kind: 'redis', url: `redis://:secret@127.0.0.1:${listenerPort}`, prefix: 'x' }, threshold_bytes: 0 } })],
        ['write-id', request('write-id', 'echo', ['"x"'], { value_proxy: { store: `file:${writeDir}`, threshold_bytes: 0 } })],
        ['connect-id', request('connect-id', 'echo', ['"x"'], { value_proxy: { store: `redis:127.0.0.1:${listenerPort}/0/x`, threshold_bytes: 0 } })],
      ]);
      for (const id of ['write', 'connect']) failure(answers.get(id)!);
      assert.match(failure(answers.get('write-id')!), new RegExp(`Unknown object store 'file:${writeDir}'.*value_proxy`));
      assert.match(failure(answers.get('connect-id')!), /Unknown object store 'redis:127\.0\.0\.1:\d+\/0\/x'/);
      assert.equal(existsSync(writeDir), false, 'no directory created where the message said');
      assert.equal(connectionsToListener, 0, 'no connection to the listening socket');
      assert.equal(await redisClients(), before, 'no extra Redis connection');
      for (const answer of answers.values()) assert.ok(!JSON.stringify(answer).includes('secret'));
    });

    it('opens no store per distinct descriptor (100 of them)', async () => {
      const before = await redisClients();
      const elements: [string, string][] = [];
      for (let i = 0; i < 100; i++) {
        const store = i % 2 === 0 ? { kind: 'redis', url: redis.url, prefix: `churn-${i}` } : `redis:127.0.0.1:${i}/0/churn`;
        elements.push([`churn-${i}`, request(`churn-${i}`, 'echo', [ref({ store, key: 'k', bytes: 1, binary: false })])]);
      }
      const answers = await attack(elements);
      for (const answer of answers.values()) failure(answer);
      assert.equal(await redisClients(), before, 'the same Redis connections as before');
    });

    it('still serves a good request, through its configured store, after all that', async () => {
      await store.put('good-object', Buffer.from('"hello"'));
      const answers = await attack([['good', request('good', 'echo', [ref({ store: store.id, key: 'good-object', bytes: 7, binary: false })])]]);
      const answer = answers.get('good')!;
      assert.equal(answer.success, true, JSON.stringify(answer.failure_info));
      assert.equal(answer.value, '"hello"');
      for (const list of answers.values()) assert.ok(list);
      for (const [id, list] of [...answersOnce()]) assert.equal(list, 1, `task ${id} answered ${list} times`);
    });

    function* answersOnce(): Generator<[string, number]> {
      for (const [id, list] of answers) yield [id, list.length];
    }
  });
}

describe('a forged result on the thinker side', () => {
  it('reads no file, deletes nothing, and never evicts an object it holds for another task', async () => {
    const prefix = redis.prefix();
    const victimDir = join(dir, 'victim');
    const storeDir = join(dir, 'thinker-store');
    const store = new FileStore({ dir: storeDir, id: 'thinker-store' });
    await writeFile(join(storeDir, 'victim-file'), 'precious');
    await rm(victimDir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(victimDir, { recursive: true }));
    await writeFile(join(victimDir, 'data.json'), '"precious"');
    const client = new RedisQueues({ url: redis.url, prefix, role: 'client', proxy: { store, thresholdBytes: 100 } });
    try {
      // Four tasks that no server takes; a fifth whose input goes by reference.
      const ids = [];
      for (let i = 0; i < 4; i++) ids.push(await client.sendInputs('echo', [i]));
      const holder = await client.sendInputs('echo', ['h'.repeat(500)]);
      const [inputKey] = (await store.keys()).filter((k) => k !== 'victim-file');
      assert.ok(inputKey);
      const requests = await raw.lrange(`${prefix}_requests`, 0, -1);
      const forge = (taskId: string, value: string): string => {
        const element = requests.find((r) => r.includes(taskId))!;
        const body = element.slice(element.indexOf('{'));
        return body.replace('"success": null', '"success": true').replace('"complete": null', '"complete": true').replace(/"value": null}$/, `"value": ${JSON.stringify(value)}}`);
      };
      const forged = [
        forge(ids[0]!, ref({ store: { kind: 'file', dir: victimDir }, key: 'data.json', bytes: 10, binary: false })),
        forge(ids[1]!, ref({ store: `file:${victimDir}`, key: 'data.json', bytes: 10, binary: false })),
        forge(ids[2]!, ref({ store: store.id, key: 'victim-file', bytes: 999, binary: false })),
        forge(ids[3]!, ref({ store: store.id, key: inputKey, bytes: 502, binary: false })),
      ];
      assert.ok(forged.every((f) => f.includes(REFERENCE_PREFIX.slice(1))), 'each forged body carries its reference');
      for (const body of forged) await raw.rpush(`${prefix}_default_result`, body);
      const results = new Map<string, { success: boolean | null; message: string; value: unknown }>();
      for (let i = 0; i < 4; i++) {
        const result = await client.getResult('default', { timeoutMs: 20_000 });
        results.set(result.taskId, { success: result.success, message: result.failureInfo?.message ?? '', value: result.value });
      }
      assert.equal(results.get(ids[0]!)!.success, false);
      assert.match(results.get(ids[0]!)!.message, /'store' must be a store id/);
      assert.match(results.get(ids[1]!)!.message, /Unknown object store 'file:.*victim'.*stores known to these queues: 'thinker-store'/);
      assert.match(results.get(ids[2]!)!.message, /holds 8 bytes under victim-file, but its reference declares 999/);
      // Its own data, read back as asked, but not evicted: it belongs to the fifth task.
      assert.equal(results.get(ids[3]!)!.value, 'h'.repeat(500));
      assert.equal(await readFile(join(victimDir, 'data.json'), 'utf8'), '"precious"', 'the file outside the store is untouched');
      assert.equal(await readFile(join(storeDir, 'victim-file'), 'utf8'), 'precious', 'the file in the store is not deleted');
      assert.equal(await store.exists(inputKey), true, "another task's input is not evicted by a result naming it");
      assert.equal(client.activeTaskIds().includes(holder), true);
    } finally {
      await client.close();
      await store.close();
    }
  });
});

describe('thinker-side refusals before anything is sent', () => {
  it('refuses method names no server can serve, and task info JSON cannot carry, naming the path', async () => {
    const { LocalQueues } = await import('../../src/queue/local.js');
    const queues = new LocalQueues();
    try {
      for (const bad of ['', '123', 'a b', 'x'.repeat(300)]) {
        await assert.rejects(queues.sendInputs(bad, []), /method name must be/, JSON.stringify(bad));
      }
      await assert.rejects(queues.sendInputs('ok', [], { taskInfo: { n: 1n } }), /taskInfo\.n as JSON: a BigInt/);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await assert.rejects(queues.sendInputs('ok', [], { taskInfo: cyclic }), /taskInfo\.self as JSON: it contains itself/);
      let deep: Record<string, unknown> = {};
      for (let i = 0; i < 5000; i++) deep = { d: deep };
      await assert.rejects(queues.sendInputs('ok', [], { taskInfo: deep }), /taskInfo(\.d)+ as JSON: it nests deeper than 126 levels/);
      await assert.rejects(queues.sendInputs('ok', [{ weights: { f: () => 1 } }]), /args\[0\]\.weights\.f as JSON: a function/);
      assert.equal(queues.activeCount(), 0, 'nothing refused became active');
    } finally {
      await queues.close();
    }
  });
});
