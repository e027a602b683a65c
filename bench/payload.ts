/**
 * `npm run bench -- payload`: round trips of large values (a Float64Array and a Buffer of 1, 10
 * and 100 MiB, msgpack-serialized) through four paths, one task at a time:
 *
 * - `local`: LocalQueues → task server → worker thread → back, the bytes inline;
 * - `local+store`: the same with a MemoryStore (pass by reference);
 * - `redis`: RedisQueues (thinker and task server on separate connections), worker threads, the
 *   bytes inline (base64 inside Colmena's JSON message);
 * - `redis+store`: the same with a RedisStore, so the control messages stay small and the worker
 *   thread fetches and stores the bytes itself.
 *
 * The method reads its input and returns a fresh copy of it, so s MiB go in and s MiB come back.
 * Inputs are not kept in results (`keepInputs: false`, as in Colmena's own study).
 *
 * Measured in the same run, for scale: `bare_copy_ms`, one in-memory copy of the bytes; and
 * `bare_path_ms`, the least the path's transport must do to move s MiB in and s MiB out —
 * `postMessage` to a worker thread and back for the local paths, SET+GET in and SET+GET out
 * through the same redis-server (binary, one ioredis connection) for the Redis paths; and for the
 * Redis paths `bare_socket_ms`, the same four transfers over a plain socket with no client
 * library, the floor for moving the bytes through redis-server from Node.
 *
 * Options: --sizes 1,10,100 (MiB), --kinds float64,buffer, --paths local,local+store,redis,redis+store,
 * --reps N (round trips per cell; default by size), --threshold-kb N (store threshold, default 64),
 * --quick (1 and 10 MiB, fewer round trips). Starts its own redis-server unless REDIS_URL is set.
 */
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { moduleMethod } from '../src/methods/spec.js';
import { MemoryStore } from '../src/proxy/memory-store.js';
import { RedisStore } from '../src/proxy/redis-store.js';
import type { ObjectStore } from '../src/proxy/store.js';
import type { ColmenaQueues, ProxyOptions } from '../src/queue/base.js';
import { LocalQueues } from '../src/queue/local.js';
import { RedisQueues } from '../src/queue/redis.js';
import { LocalTaskServer } from '../src/task-server/local.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { flag, listOption, machineLoad, median, medianMs, numberListOption, option, printTable, RespSocket, report, round } from './lib.js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

const MIB = 1024 * 1024;
const PATHS = ['local', 'local+store', 'redis', 'redis+store'] as const;
const KINDS = ['float64', 'buffer'] as const;
type PathName = (typeof PATHS)[number];
type Kind = (typeof KINDS)[number];
type Payload = Float64Array | Uint8Array;

/** Issue 5's targets, through Redis with the store. */
const TARGET_MS: Record<number, number> = { 1: 5, 10: 40 };

/** The method the worker threads run: read every byte of the input and return a fresh copy. */
export function copyBack(value: Payload): Payload {
  return value instanceof Float64Array ? new Float64Array(value) : Buffer.from(value);
}

type Methods = { copyBack: (value: Payload) => Payload };
const methods = { copyBack: moduleMethod<Methods['copyBack']>(new URL(import.meta.url), 'copyBack') };

interface Campaign {
  queues: ColmenaQueues<Methods>;
  close(): Promise<void>;
}

function openPath(path: PathName, url: string, thresholdBytes: number): Campaign {
  const store: ObjectStore | null = !path.endsWith('+store')
    ? null
    : path.startsWith('redis')
      ? new RedisStore({ url, prefix: `bench-store-${randomUUID()}` })
      : new MemoryStore();
  const proxy: ProxyOptions | undefined = store ? { store, thresholdBytes } : undefined;
  const options = { serializationMethod: 'msgpack', keepInputs: false, proxy } as const;
  if (path.startsWith('local')) {
    const queues = new LocalQueues<Methods>(options);
    const server = new LocalTaskServer(queues, { methods, threads: 1 }).start();
    return {
      queues,
      async close() {
        await queues.sendKillSignal();
        await server.join();
        await queues.close();
        await store?.close();
      },
    };
  }
  const prefix = `bench-${randomUUID()}`;
  const client = new RedisQueues<Methods>({ ...options, url, prefix, role: 'client' });
  const serverSide = new RedisQueues({ url, prefix, role: 'server', serializationMethod: 'msgpack' });
  const server = new LocalTaskServer(serverSide, { methods, threads: 1 }).start();
  return {
    queues: client,
    async close() {
      await client.sendKillSignal();
      await server.join();
      await Promise.all([client.close(), serverSide.close()]);
      await store?.close();
    },
  };
}

function makePayload(kind: Kind, mb: number): Payload {
  const bytes = Math.round(mb * MIB);
  if (kind === 'float64') return Float64Array.from({ length: Math.floor(bytes / 8) }, (_, i) => Math.sin(i));
  const buffer = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) buffer[i] = (i * 31) & 255;
  return buffer;
}

/** Where the time of one round trip went, in ms. */
interface Breakdown {
  total: number;
  encode: number;
  storePut: number;
  storeGet: number;
  workerDecode: number;
  running: number;
  workerEncode: number;
  decode: number;
  /** Everything else: wire encoding (JSON, base64), Redis pushes and pops, thread hand-over. */
  transport: number;
}

function breakdownOf(result: { time: import('../src/models/timing.js').Durations }, totalMs: number): Breakdown {
  const t = result.time;
  const ms = (seconds: number): number => (Number.isFinite(seconds) ? seconds * 1000 : 0);
  let storePut = 0;
  let storeGet = 0;
  for (const timing of Object.values(t.proxy) as { put?: number; get?: number }[]) {
    storePut += ms(timing.put ?? NaN);
    storeGet += ms(timing.get ?? NaN);
  }
  const parts = {
    encode: ms(t.serializeInputs),
    storePut,
    storeGet,
    workerDecode: ms(t.deserializeInputs),
    running: ms(t.running),
    workerEncode: ms(t.serializeResults),
    decode: ms(t.deserializeResults),
  };
  const known = Object.values(parts).reduce((a, b) => a + b, 0);
  return { total: totalMs, ...parts, transport: totalMs - known };
}

function medianBreakdown(samples: readonly Breakdown[]): Breakdown {
  const keys = Object.keys(samples[0]!) as (keyof Breakdown)[];
  return Object.fromEntries(keys.map((key) => [key, round(median(samples.map((s) => s[key])), 2)])) as unknown as Breakdown;
}

async function roundTrips(campaign: Campaign, payload: Payload, reps: number): Promise<Breakdown[]> {
  const samples: Breakdown[] = [];
  for (let i = 0; i < reps; i++) {
    const started = performance.now();
    await campaign.queues.sendInputs('copyBack', [payload]);
    const result = await campaign.queues.getResult('default', { timeoutMs: 120_000 });
    const totalMs = performance.now() - started;
    if (!result.success) throw new Error(`copyBack failed: ${result.failureInfo?.message}`);
    const value = result.value as Payload;
    if (value.byteLength !== payload.byteLength || value.constructor !== payload.constructor && !(payload instanceof Uint8Array && value instanceof Uint8Array)) {
      throw new Error(`copyBack returned ${value.constructor.name} of ${value.byteLength} bytes for ${payload.constructor.name} of ${payload.byteLength}`);
    }
    samples.push(breakdownOf(result, totalMs));
  }
  return samples;
}

/** The raw limit of the local paths: the bytes to a worker thread and back with postMessage (a structured clone each way). */
async function bareThreadRoundTripMs(payload: Payload, reps: number): Promise<number> {
  const worker = new Worker("require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m))", { eval: true });
  const once = () =>
    new Promise<void>((resolve) => {
      worker.once('message', () => resolve());
      worker.postMessage(payload);
    });
  await once();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  await worker.terminate();
  return median(times);
}

/** The raw limit of the Redis paths: SET and GET the bytes going in, SET and GET them coming out. */
async function bareRedisRoundTripMs(url: string, payload: Payload, reps: number): Promise<number> {
  const redis = new Redis(url);
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const key = `bench-bare-${randomUUID()}`;
  const once = async () => {
    await redis.set(`${key}-in`, bytes);
    const input = await redis.getBuffer(`${key}-in`);
    await redis.set(`${key}-out`, input!);
    await redis.getBuffer(`${key}-out`);
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  await redis.del(`${key}-in`, `${key}-out`);
  redis.disconnect();
  return median(times);
}

/**
 * The same four transfers over a plain socket speaking RESP, with no client library: the floor
 * for moving the bytes through this redis-server from Node.
 */
async function bareSocketRoundTripMs(url: string, payload: Payload, reps: number): Promise<number> {
  const socket = await RespSocket.open(url);
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const key = `bench-socket-${randomUUID()}`;
  const run = async () => {
    await socket.set(`${key}-in`, bytes);
    const input = await socket.get(`${key}-in`);
    await socket.set(`${key}-out`, input);
    await socket.get(`${key}-out`);
  };
  await run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  await socket.del(`${key}-in`, `${key}-out`);
  socket.close();
  return median(times);
}

function defaultReps(mb: number, quick: boolean): number {
  if (mb <= 1) return quick ? 10 : 30;
  if (mb <= 10) return quick ? 4 : 10;
  return 3;
}

export async function main(argv: string[]): Promise<void> {
  const quick = flag(argv, 'quick');
  const sizes = numberListOption(argv, 'sizes', quick ? [1, 10] : [1, 10, 100]);
  const kinds = listOption(argv, 'kinds', [...KINDS]) as Kind[];
  const paths = listOption(argv, 'paths', [...PATHS]) as PathName[];
  for (const kind of kinds) if (!KINDS.includes(kind)) throw new Error(`--kinds: unknown kind '${kind}'; use ${KINDS.join(', ')}`);
  for (const path of paths) if (!PATHS.includes(path)) throw new Error(`--paths: unknown path '${path}'; use ${PATHS.join(', ')}`);
  const repsOption = option(argv, 'reps', 0);
  const thresholdBytes = option(argv, 'threshold-kb', 64) * 1024;
  const loadBefore = await machineLoad();

  const needsRedis = paths.some((p) => p.startsWith('redis'));
  const ownServer = needsRedis && !process.env.REDIS_URL ? await startRedisServer() : null;
  const url = process.env.REDIS_URL ?? ownServer?.url ?? '';
  const lines: Record<string, unknown>[] = [];
  const rows: Record<string, unknown>[] = [];
  try {
    const campaigns = new Map(paths.map((path) => [path, openPath(path, url, thresholdBytes)]));
    // Warm up each path (thread start, module load, connections) with a small value.
    for (const campaign of campaigns.values()) await roundTrips(campaign, new Float64Array(1 << 14), 3);
    for (const mb of sizes) {
      const reps = repsOption > 0 ? repsOption : defaultReps(mb, quick);
      for (const kind of kinds) {
        const payload = makePayload(kind, mb);
        const bareCopyMs = medianMs(Math.max(reps, 5), () => (payload instanceof Float64Array ? payload.slice() : Buffer.from(payload)));
        const bareThreadMs = paths.some((p) => p.startsWith('local')) ? await bareThreadRoundTripMs(payload, reps) : NaN;
        const bareRedisMs = needsRedis ? await bareRedisRoundTripMs(url, payload, reps) : NaN;
        const bareSocketMs = needsRedis ? await bareSocketRoundTripMs(url, payload, reps) : NaN;
        for (const path of paths) {
          const campaign = campaigns.get(path)!;
          await roundTrips(campaign, payload, 1); // warm-up at this size
          const b = medianBreakdown(await roundTrips(campaign, payload, reps));
          const bare = path.startsWith('local') ? bareThreadMs : bareRedisMs;
          const target = path === 'redis+store' ? TARGET_MS[mb] : undefined;
          const line: Record<string, unknown> = {
            bench: 'payload',
            path,
            kind,
            mb,
            reps,
            ms_per_task: round(b.total, 2),
            bare_copy_ms: round(bareCopyMs, 3),
            bare_path_ms: round(bare, 2),
            path_ratio: round(b.total / bare, 2),
          };
          if (path.startsWith('redis')) line.bare_socket_ms = round(bareSocketMs, 2);
          if (target !== undefined) Object.assign(line, { target_ms: target, meets_target: b.total <= target });
          lines.push(line);
          rows.push({ path, kind, mb, ms: b.total, bare_path: round(bare, 2), bare_socket: path.startsWith('redis') ? round(bareSocketMs, 2) : '', bare_copy: round(bareCopyMs, 2), encode: b.encode, put: b.storePut, get: b.storeGet, w_decode: b.workerDecode, run: b.running, w_encode: b.workerEncode, decode: b.decode, transport: b.transport });
        }
      }
    }
    await Promise.all([...campaigns.values()].map((c) => c.close()));
  } finally {
    await ownServer?.stop();
  }
  const loadAfter = await machineLoad();
  console.log(`# payload: median ms per round trip and where it went (load ${loadBefore.load1} → ${loadAfter.load1} on ${loadAfter.cpus} CPUs)`);
  console.log('# put/get: object store, summed over input and value; transport: the rest (wire encoding, Redis push/pop, thread hand-over)');
  printTable(rows);
  for (const line of lines) report(line);
}
