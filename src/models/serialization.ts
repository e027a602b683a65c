import { Packr } from 'msgpackr';
import { SerializationError } from '../common/errors.js';
import { parseLenientJson } from './lenient-json.js';
import { stringifyForPython } from './python-json.js';

/**
 * How task inputs and values are encoded. Each argument is encoded on its own, as Colmena does,
 * so a worker can decode (or later, fetch by reference) one argument without the others.
 *
 * - `json`: text, readable by Python Colmena. `undefined`, functions, symbols and BigInts are
 *   refused; `NaN`, `±Infinity` and `-0` are written as Python's `json` writes them (see
 *   python-json.ts), so they round-trip; integral floats arrive as integers.
 * - `msgpack`: binary (msgpackr in plain-msgpack mode, no records extension), so typed arrays,
 *   Buffers, Maps, Dates and BigInts round-trip.
 * - `pickle`: Python Colmena's other method. It can be read off the wire (to refuse it clearly)
 *   but never encoded or decoded here.
 */
export type SerializationMethod = 'json' | 'msgpack' | 'pickle';

/** One encoded argument or value: text for `json`, bytes for `msgpack`. */
export type Encoded = string | Uint8Array;

/** Encoded positional and keyword arguments, in Colmena's `[args, kwargs]` shape. */
export type EncodedInputs = [Encoded[], Record<string, Encoded>];

const packr = new Packr({ useRecords: false, moreTypes: true, mapsAsObjects: true, structuredClone: false });

export function encodeValue(method: SerializationMethod, value: unknown, what = 'value'): Encoded {
  if (method === 'pickle') throw pickleRefused(what);
  if (method === 'msgpack') {
    if (typeof value === 'function' || typeof value === 'symbol') {
      throw new SerializationError(`Cannot encode ${what} with msgpack: a ${typeof value} has no serialized form. Pass plain data.`);
    }
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
    text = stringifyForPython(value);
  } catch (error) {
    throw new SerializationError(
      `Cannot encode ${what} as JSON: ${(error as Error).message}. ` +
        `Use serialization 'msgpack' for BigInts, typed arrays and Maps, or pass plain data.`,
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
  const encodedArgs = args.map((arg, i) => encodeValue(method, arg, `argument ${i} (counting from 0)`));
  const encodedKwargs: Record<string, Encoded> = {};
  for (const key of Object.keys(kwargs)) {
    encodedKwargs[key] = encodeValue(method, kwargs[key], `keyword argument '${key}'`);
  }
  return [encodedArgs, encodedKwargs];
}

export function decodeInputs(method: SerializationMethod, inputs: EncodedInputs): [unknown[], Record<string, unknown>] {
  const [args, kwargs] = inputs;
  const decodedArgs = args.map((arg, i) => decodeValue(method, arg, `argument ${i} (counting from 0)`));
  const decodedKwargs: Record<string, unknown> = {};
  for (const key of Object.keys(kwargs)) {
    decodedKwargs[key] = decodeValue(method, kwargs[key], `keyword argument '${key}'`);
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
