import { randomUUID } from 'node:crypto';
import { ColmenaError } from '../common/errors.js';
import type { Encoded, EncodedInputs } from '../models/serialization.js';
import { connectStore } from './connect.js';
import { decodeReference, encodeReference, isReference, type ProxyReference } from './reference.js';
import { describeStore, type ObjectStore } from './store.js';

/** Per-reference timings, recorded in `result.time.proxy` under the reference's key. */
export interface ProxyTiming {
  bytes: number;
  /** Seconds to store the value. */
  put?: number;
  /** Seconds to fetch the value. */
  get?: number;
}

export type ProxyTimings = Record<string, ProxyTiming>;

/** A reference whose store cannot be reached or whose object is gone. */
export class ProxyResolutionError extends ColmenaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PROXY', message, options);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function byteLength(encoded: Encoded): number {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: skip measuring strings that cannot reach the threshold.
  return typeof encoded === 'string' ? Buffer.byteLength(encoded) : encoded.byteLength;
}

/** Store `encoded` and return a reference to it when it is at least `thresholdBytes` long. */
export async function proxyIfLarge(encoded: Encoded, store: ObjectStore, thresholdBytes: number, timings: ProxyTimings): Promise<Encoded> {
  if (isReference(encoded)) return encoded;
  if (typeof encoded === 'string' ? encoded.length * 3 < thresholdBytes : encoded.byteLength < thresholdBytes) return encoded;
  const bytes = byteLength(encoded);
  if (bytes < thresholdBytes) return encoded;
  const key = randomUUID();
  const binary = typeof encoded !== 'string';
  const data = binary ? encoded : encoder.encode(encoded);
  let stats;
  try {
    stats = await store.put(key, data);
  } catch (error) {
    throw new ProxyResolutionError(`Cannot store a ${bytes}-byte value in ${store.label}: ${(error as Error).message}`, { cause: error });
  }
  timings[key] = { bytes: stats.bytes, put: stats.seconds };
  return encodeReference({ store: store.descriptor, key, bytes: stats.bytes, binary });
}

/** Proxy every argument and keyword argument at or over the threshold, concurrently. */
export async function proxyInputs(inputs: EncodedInputs, store: ObjectStore, thresholdBytes: number, timings: ProxyTimings): Promise<EncodedInputs> {
  const [args, kwargs] = inputs;
  const keys = Object.keys(kwargs);
  const [newArgs, newKwargValues] = await Promise.all([
    Promise.all(args.map((arg) => proxyIfLarge(arg, store, thresholdBytes, timings))),
    Promise.all(keys.map((key) => proxyIfLarge(kwargs[key]!, store, thresholdBytes, timings))),
  ]);
  const newKwargs: Record<string, Encoded> = {};
  keys.forEach((key, i) => (newKwargs[key] = newKwargValues[i]!));
  return [newArgs, newKwargs];
}

/** The encoded value a reference stands for (anything else is returned as is). */
export async function resolveEncoded(encoded: Encoded, timings: ProxyTimings, evict = false): Promise<Encoded> {
  if (!isReference(encoded)) return encoded;
  const reference = decodeReference(encoded as string);
  const where = `${describeStore(reference.store)}, key ${reference.key}`;
  let found;
  try {
    const store = connectStore(reference.store);
    found = await store.get(reference.key);
    // Evicting is housekeeping: off the result's path, and a failure only leaves the object behind.
    if (found && evict) store.evict(reference.key).catch(() => {});
  } catch (error) {
    throw new ProxyResolutionError(`Cannot fetch a value passed by reference from ${where}: ${(error as Error).message}`, { cause: error });
  }
  if (!found) throw new ProxyResolutionError(`A value passed by reference is gone from ${where} (evicted, or the store was emptied)`);
  const timing = (timings[reference.key] ??= { bytes: found.stats.bytes });
  timing.get = found.stats.seconds;
  return reference.binary ? found.data : decoder.decode(found.data);
}

export function hasReferences(inputs: EncodedInputs): boolean {
  return inputs[0].some(isReference) || Object.values(inputs[1]).some(isReference);
}

/** Replace every reference in the inputs by the value it stands for, fetching all at once. */
export async function resolveInputs(inputs: EncodedInputs, timings: ProxyTimings): Promise<EncodedInputs> {
  const [args, kwargs] = inputs;
  const keys = Object.keys(kwargs);
  const [newArgs, values] = await Promise.all([
    Promise.all(args.map((arg) => resolveEncoded(arg, timings))),
    Promise.all(keys.map((key) => resolveEncoded(kwargs[key]!, timings))),
  ]);
  const newKwargs: Record<string, Encoded> = {};
  keys.forEach((key, i) => (newKwargs[key] = values[i]!));
  return [newArgs, newKwargs];
}

/** References held in some inputs, e.g. to evict them once their task is over. */
export function referencesIn(inputs: EncodedInputs): ProxyReference[] {
  return [...inputs[0], ...Object.values(inputs[1])].filter(isReference).map((e) => decodeReference(e as string));
}

/** Evict objects, ignoring ones already gone; failures are returned, not thrown. */
export async function evictReferences(references: readonly ProxyReference[]): Promise<unknown[]> {
  const outcomes = await Promise.allSettled(references.map((r) => connectStore(r.store).evict(r.key)));
  return outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
}
