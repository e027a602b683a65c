import { constants } from 'node:buffer';
import { Packr } from 'msgpackr';
import { SerializationError } from '../common/errors.js';
import { parseLenientJson } from './lenient-json.js';
import { isReference, ProxyHandle } from './value-proxy.js';
import { stringifyForPython } from './python-json.js';

/**
 * How task inputs and values are encoded. Each argument is encoded on its own, as Colmena does,
 * so a worker can decode (or later, fetch by reference) one argument without the others.
 *
 * - `json`: text, readable by Python Colmena. A top-level `undefined`, and anywhere functions,
 *   symbols, BigInts, Maps, Sets, typed arrays and cycles are refused, naming the path inside the
 *   value ({@link checkEncodable}); `undefined` object properties are left out, as in any JSON;
 *   `NaN`, `±Infinity` and `-0` are written as Python's `json` writes them (see python-json.ts),
 *   so they round-trip; integral floats arrive as integers.
 * - `msgpack`: binary (msgpackr in plain-msgpack mode, no records extension), so typed arrays,
 *   Buffers, Sets, Dates and BigInts round-trip. Maps are refused: plain msgpack has one map
 *   type, which comes back as a plain object.
 *
 * A {@link ProxyHandle} given as a whole argument is sent as its reference (no upload).
 * - `pickle`: Python Colmena's other method. It can be read off the wire (to refuse it clearly)
 *   but never encoded or decoded here.
 */
export type SerializationMethod = 'json' | 'msgpack' | 'pickle';

/** One encoded argument or value: text for `json`, bytes for `msgpack`. */
export type Encoded = string | Uint8Array;

/** Encoded positional and keyword arguments, in Colmena's `[args, kwargs]` shape. */
export type EncodedInputs = [Encoded[], Record<string, Encoded>];

const packr = new Packr({ useRecords: false, moreTypes: true, mapsAsObjects: true, structuredClone: false });

/** Deepest nesting of arrays and objects in one argument or value (JSON.stringify's stack holds ~10× more). */
export const MAX_VALUE_DEPTH = 1000;

/** Longest encoding each method can build: a JS string for JSON, a Buffer for msgpack. */
const MAX_ENCODED = { json: constants.MAX_STRING_LENGTH, msgpack: constants.MAX_LENGTH } as const;

/**
 * Refuse what a codec would silently change or cannot build, naming the path inside the value
 * (`args[0].weights.f: a function`): functions and symbols (dropped), Maps (JSON: `{}`; msgpack: a
 * plain object), and under JSON BigInts, typed arrays and Sets; cycles; nesting deeper than
 * `maxDepth`; and values whose encoding would be longer than the codec can hold, found before the
 * string or buffer is built. `undefined` object properties are left out, as JSON always does.
 *
 * @throws SerializationError naming the path, what was found, and what to do instead.
 */
export function checkEncodable(method: 'json' | 'msgpack', value: unknown, what: string, maxDepth = MAX_VALUE_DEPTH): boolean {
  const walk: Walk = { method, json: method === 'json', seen: new Set<object>(), bytes: 0, maxDepth, what, path: [], special: false };
  visit(value, 0, walk);
  return walk.special;
}

interface Walk {
  method: 'json' | 'msgpack';
  json: boolean;
  seen: Set<object>;
  /** A lower bound of the encoded size so far. */
  bytes: number;
  maxDepth: number;
  what: string;
  /** Indexes and keys from `what` to the value being visited; made into text only when refusing. */
  path: (number | string)[];
  /** Whether a number JSON.stringify cannot write (NaN, ±Infinity, -0) was seen. */
  special: boolean;
}

function pathText(walk: Walk): string {
  let text = walk.what;
  for (const step of walk.path) {
    text += typeof step === 'number' ? `[${step}]` : /^[A-Za-z_$][\w$]*$/.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
  }
  return text;
}

function refuse(walk: Walk, path: string, problem: string, fix: string): never {
  const codec = walk.json ? 'as JSON' : 'with msgpack';
  throw new SerializationError(`Cannot encode ${path} ${codec}: ${problem}. ${fix}`);
}

function refuseHere(walk: Walk, problem: string, fix: string): never {
  return refuse(walk, pathText(walk), problem, fix);
}

function count(walk: Walk, bytes: number): void {
  walk.bytes += bytes;
  const max = MAX_ENCODED[walk.method];
  if (walk.bytes > max) {
    refuse(
      walk,
      walk.what,
      `it encodes to more than ${max} ${walk.json ? 'characters, the longest string Node can hold' : 'bytes, the largest buffer Node can hold'} (reached at ${pathText(walk)})`,
      walk.json ? "Split it, or send it with serialization 'msgpack' and a proxy store." : 'Split it into several arguments or tasks.',
    );
  }
}

function visit(value: unknown, depth: number, walk: Walk): void {
  const json = walk.json;
  switch (typeof value) {
    case 'string':
      return count(walk, value.length + 2);
    case 'number':
      if (!walk.special && (!Number.isFinite(value) || (value === 0 && 1 / value < 0))) walk.special = true;
      return count(walk, 1);
    case 'boolean':
      return count(walk, 1);
    case 'undefined':
      return;
    case 'bigint':
      if (json) refuseHere(walk, 'a BigInt has no JSON form', "Use serialization 'msgpack', or pass it as a string or number.");
      return count(walk, 9);
    case 'function':
    case 'symbol':
      refuseHere(walk, `a ${typeof value} has no serialized form`, 'Pass plain data.');
  }
  if (value === null) return count(walk, 4);
  const object = value as object;
  if (value instanceof ProxyHandle) {
    refuseHere(walk, 'a ProxyHandle can only be a whole argument or keyword argument', 'Pass the handle itself as the argument, not inside another value.');
  }
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) {
    if (json) refuseHere(walk, `a ${object.constructor.name} would become an object of numbered keys`, "Use serialization 'msgpack', or convert it with Array.from().");
    return count(walk, (object as ArrayBufferView).byteLength);
  }
  if (object instanceof Map) {
    refuseHere(
      walk,
      json ? 'a Map would become {}' : 'a Map would arrive as a plain object (keys as strings)',
      'Pass Object.fromEntries(map) or [...map] (an array of [key, value] pairs).',
    );
  }
  if (object instanceof Date) return count(walk, 8);
  if (depth >= walk.maxDepth) refuseHere(walk, `it nests deeper than ${walk.maxDepth} levels`, 'Flatten it.');
  if (walk.seen.has(object)) refuseHere(walk, 'it contains itself (a circular reference)', 'Pass a copy without the back-reference.');
  const path = walk.path;
  if (object instanceof Set) {
    if (json) refuseHere(walk, 'a Set would become {}', "Pass [...set], or use serialization 'msgpack'.");
    walk.seen.add(object);
    let i = 0;
    for (const item of object) {
      path.push(i++);
      visit(item, depth + 1, walk);
      path.pop();
    }
    walk.seen.delete(object);
    return;
  }
  // Objects that say how they become JSON (e.g. a Decimal) are taken at their word.
  if (json && typeof (object as { toJSON?: unknown }).toJSON === 'function') return count(walk, 2);
  walk.seen.add(object);
  count(walk, 2);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      path.push(i);
      visit(object[i], depth + 1, walk);
      path.pop();
    }
  } else {
    for (const key of Object.keys(object)) {
      path.push(key);
      visit((object as Record<string, unknown>)[key], depth + 1, walk);
      path.pop();
    }
  }
  walk.seen.delete(object);
}

export function encodeValue(method: SerializationMethod, value: unknown, what = 'value'): Encoded {
  if (method === 'pickle') throw pickleRefused(what);
  const special = checkEncodable(method, value, what);
  if (method === 'msgpack') {
    try {
      const packed = packr.pack(value);
      // msgpackr returns a view into its shared, growing buffer; a copy of exactly the packed
      // bytes keeps a hand-over to a worker from cloning the whole shared buffer.
      return packed.byteLength === packed.buffer.byteLength ? packed : Buffer.from(packed);
    } catch (error) {
      throw new SerializationError(`Cannot encode ${what} with msgpack: ${(error as Error).message}`, { cause: error });
    }
  }
  let text: string | undefined;
  try {
    text = stringifyForPython(value, special);
  } catch (error) {
    throw new SerializationError(
      `Cannot encode ${what} as JSON: ${(error as Error).message}. ` +
        `Use serialization 'msgpack' for BigInts, typed arrays and Sets, or pass plain data.`,
      { cause: error },
    );
  }
  if (text === undefined) {
    throw new SerializationError(
      `Cannot encode ${what} as JSON: ${value === undefined ? 'undefined' : `a ${typeof value}`} has no JSON form. Pass plain data (use null, not undefined).`,
    );
  }
  return text;
}

export function decodeValue(method: SerializationMethod, encoded: unknown, what = 'value'): unknown {
  if (method === 'pickle') throw pickleRefused(what);
  if (method === 'msgpack') {
    if (!(encoded instanceof Uint8Array)) {
      throw new SerializationError(`Cannot decode ${what}: msgpack data must be bytes, got ${typeof encoded}`);
    }
    try {
      return packr.unpack(encoded);
    } catch (error) {
      throw new SerializationError(`Cannot decode ${what} from msgpack: ${(error as Error).message}`, { cause: error });
    }
  }
  // Like Python Colmena's workers: only strings are encoded; anything else passes through as is.
  if (typeof encoded !== 'string') return encoded;
  try {
    return parseLenientJson(encoded);
  } catch (error) {
    throw new SerializationError(
      `Cannot decode ${what}: ${JSON.stringify(truncate(encoded))} is not JSON-encoded (${(error as Error).message})`,
      { cause: error },
    );
  }
}

export function encodeInputs(
  method: SerializationMethod,
  args: readonly unknown[],
  kwargs: Readonly<Record<string, unknown>>,
): EncodedInputs {
  const encodedArgs = args.map((arg, i) => encodeArgument(method, arg, `args[${i}]`));
  const encodedKwargs: Record<string, Encoded> = {};
  for (const key of Object.keys(kwargs)) {
    encodedKwargs[key] = encodeArgument(method, kwargs[key], `kwargs${/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}`);
  }
  return [encodedArgs, encodedKwargs];
}

/** An argument: a handle goes as its reference, anything else is encoded. */
function encodeArgument(method: SerializationMethod, value: unknown, what: string): Encoded {
  if (!(value instanceof ProxyHandle)) return encodeValue(method, value, what);
  if (value.binary !== (method === 'msgpack')) {
    throw new SerializationError(
      `Cannot send ${what}: its ProxyHandle holds a ${value.binary ? 'msgpack' : 'JSON'}-encoded value, but these queues use '${method}'. Make the handle with queues that use '${method}'.`,
    );
  }
  if (!isReference(value.reference)) throw new SerializationError(`Cannot send ${what}: its ProxyHandle carries no reference`);
  return value.reference;
}

export function decodeInputs(method: SerializationMethod, inputs: EncodedInputs): [unknown[], Record<string, unknown>] {
  const [args, kwargs] = inputs;
  const decodedArgs = args.map((arg, i) => decodeValue(method, arg, `args[${i}]`));
  const decodedKwargs: Record<string, unknown> = {};
  for (const key of Object.keys(kwargs)) {
    decodedKwargs[key] = decodeValue(method, kwargs[key], `kwargs['${key.slice(0, 100)}']`);
  }
  return [decodedArgs, decodedKwargs];
}

/** Bytes of an encoded item: UTF-8 length of text, byte length of binary. */
export function encodedSize(encoded: Encoded | null | undefined): number {
  if (encoded == null) return 0;
  return typeof encoded === 'string' ? Buffer.byteLength(encoded) : encoded.byteLength;
}

export function inputsSize(inputs: EncodedInputs): number {
  let total = 0;
  for (const arg of inputs[0]) total += encodedSize(arg);
  for (const key of Object.keys(inputs[1])) total += encodedSize(inputs[1][key]);
  return total;
}

function truncate(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function pickleRefused(what: string): SerializationError {
  return new SerializationError(
    `Cannot handle ${what}: it uses Python pickle serialization, which only Python can read. ` +
      `Use serialization_method='json' on the Python side.`,
  );
}
