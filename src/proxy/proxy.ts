import { randomUUID } from 'node:crypto';
import type { Encoded, EncodedInputs } from '../models/serialization.js';
import type { ValueProxySettings } from '../models/value-proxy.js';
import { decodeReference, encodeReference, isReference, type ProxyReference, ProxyResolutionError } from './reference.js';
import type { ObjectStore } from './store.js';
import { processStores, type StoreRegistry } from './store-registry.js';

export { ProxyResolutionError };

/** Per-reference timings, recorded in `result.time.proxy` under the reference's key. */
export interface ProxyTiming {
  bytes: number;
  /** Seconds to store the value. */
  put?: number;
  /** Seconds to fetch the value. */
  get?: number;
}

export type ProxyTimings = Record<string, ProxyTiming>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Put encoded bytes in a store under a new key; the reference to them. */
export async function storeEncoded(encoded: Encoded, store: ObjectStore, timings: ProxyTimings): Promise<ProxyReference> {
  const key = randomUUID();
  const binary = typeof encoded !== 'string';
  const data = binary ? encoded : encoder.encode(encoded);
  let stats;
  try {
    stats = await store.put(key, data);
  } catch (error) {
    throw new ProxyResolutionError(`Cannot store a ${data.byteLength}-byte value in ${store.label}: ${(error as Error).message}`, { cause: error });
  }
  timings[key] = { bytes: stats.bytes, put: stats.seconds };
  return { store: store.id, key, bytes: stats.bytes, binary };
}

/** Store `encoded` and return a reference to it when it is at least `thresholdBytes` long. */
export async function proxyIfLarge(encoded: Encoded, store: ObjectStore, thresholdBytes: number, timings: ProxyTimings): Promise<Encoded> {
  if (isReference(encoded)) return encoded;
  // UTF-8 takes at most 3 bytes per UTF-16 unit: skip measuring strings that cannot reach the threshold.
  if (typeof encoded === 'string' ? encoded.length * 3 < thresholdBytes : encoded.byteLength < thresholdBytes) return encoded;
  const bytes = typeof encoded === 'string' ? Buffer.byteLength(encoded) : encoded.byteLength;
  if (bytes < thresholdBytes) return encoded;
  return encodeReference(await storeEncoded(encoded, store, timings));
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

/** Fetch what a parsed reference stands for, from a store of `stores` only, reading no more than it declares. */
export async function fetchReferenced(reference: ProxyReference, stores: StoreRegistry, timings: ProxyTimings, what: string): Promise<Encoded> {
  const store = stores.get(reference.store, what);
  const where = `${store.label}, key ${reference.key}`;
  let found;
  try {
    found = await store.get(reference.key, reference.bytes);
  } catch (error) {
    throw new ProxyResolutionError(`Cannot fetch ${what} from ${where}: ${(error as Error).message}`, { cause: error });
  }
  if (!found) throw new ProxyResolutionError(`${capitalize(what)} is gone from ${where} (evicted, or the store was emptied)`);
  const timing = (timings[reference.key] ??= { bytes: found.stats.bytes });
  timing.get = found.stats.seconds;
  return reference.binary ? found.data : decoder.decode(found.data);
}

/** The encoded value a reference stands for (anything else is returned as is). */
export async function resolveEncoded(encoded: Encoded, timings: ProxyTimings, stores: StoreRegistry = processStores, what = 'a value passed by reference'): Promise<Encoded> {
  if (!isReference(encoded)) return encoded;
  return fetchReferenced(decodeReference(encoded as string, what), stores, timings, what);
}

export function hasReferences(inputs: EncodedInputs): boolean {
  return inputs[0].some(isReference) || Object.values(inputs[1]).some(isReference);
}

/** Replace every reference in the inputs by the value it stands for, fetching all at once. */
export async function resolveInputs(inputs: EncodedInputs, timings: ProxyTimings, stores: StoreRegistry = processStores): Promise<EncodedInputs> {
  const [args, kwargs] = inputs;
  const keys = Object.keys(kwargs);
  const [newArgs, values] = await Promise.all([
    Promise.all(args.map((arg, i) => resolveEncoded(arg, timings, stores, `argument ${i} (counting from 0)`))),
    Promise.all(keys.map((key) => resolveEncoded(kwargs[key]!, timings, stores, `keyword argument '${key.slice(0, 100)}'`))),
  ]);
  const newKwargs: Record<string, Encoded> = {};
  keys.forEach((key, i) => (newKwargs[key] = values[i]!));
  return [newArgs, newKwargs];
}

/**
 * A worker's value, by reference when the task asked for it and it is large: into the store the
 * settings name, looked up among the stores this process was configured with.
 */
export async function proxyValueIfLarge(encoded: Encoded, settings: ValueProxySettings, timings: ProxyTimings, stores: StoreRegistry = processStores): Promise<Encoded> {
  const store = stores.get(settings.storeId, "the request's value_proxy");
  return proxyIfLarge(encoded, store, settings.thresholdBytes, timings);
}

/** Ids of the stores a payload's references and value settings name (checked per task: no copies of the inputs). */
export function storeIdsIn(inputs: EncodedInputs, valueProxy: ValueProxySettings | undefined | null): string[] {
  const ids: string[] = [];
  for (const encoded of inputs[0]) addStoreId(ids, encoded);
  const kwargs = inputs[1];
  for (const key in kwargs) addStoreId(ids, kwargs[key]!);
  if (valueProxy && !ids.includes(valueProxy.storeId)) ids.push(valueProxy.storeId);
  return ids;
}

function addStoreId(ids: string[], encoded: Encoded): void {
  if (!isReference(encoded)) return;
  let id: string;
  try {
    id = decodeReference(encoded as string).store;
  } catch {
    // A malformed reference fails where it is resolved, with its argument named.
    return;
  }
  if (!ids.includes(id)) ids.push(id);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
