import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SerializationError } from '../../src/common/errors.js';
import { Result } from '../../src/models/result.js';
import {
  decodeInputs,
  decodeValue,
  encodedSize,
  encodeInputs,
  encodeValue,
  inputsSize,
} from '../../src/models/serialization.js';

/** Assert a SerializationError whose message matches every pattern. */
function assertSerializationError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SerializationError, `expected SerializationError, got ${String(error)}`);
    assert.equal(error.code, 'SERIALIZATION');
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

function circular(): Record<string, unknown> {
  const node: Record<string, unknown> = { name: 'loop' };
  node.self = node;
  return node;
}

describe('json per-argument encoding (Python shape)', () => {
  test('each argument is its own JSON text', () => {
    assert.equal(encodeValue('json', 1), '1');
    assert.equal(encodeValue('json', 2.5), '2.5');
    assert.equal(encodeValue('json', true), 'true');
    assert.equal(encodeValue('json', null), 'null');
    assert.equal(encodeValue('json', 'café'), '"café"');
    const dict = encodeValue('json', { a: [1, 2.5, null, true] });
    assert.equal(typeof dict, 'string');
    assert.deepEqual(JSON.parse(dict as string), { a: [1, 2.5, null, true] });
  });

  test('encodeInputs gives [[args], {kwargs}] of strings', () => {
    const inputs = encodeInputs('json', [1, { a: 1 }, 'x'], { c: 3, label: 'café' });
    assert.deepEqual(inputs, [['1', '{"a":1}', '"x"'], { c: '3', label: '"café"' }]);
    assert.deepEqual(decodeInputs('json', inputs), [[1, { a: 1 }, 'x'], { c: 3, label: 'café' }]);
  });

  test('decoding reads Python json.dumps output, escapes and NaN included', () => {
    assert.equal(decodeValue('json', '"caf\\u00e9"'), 'café');
    assert.deepEqual(decodeValue('json', '{"a": [1, 2.5, null, true]}'), { a: [1, 2.5, null, true] });
    assert.ok(Number.isNaN(decodeValue('json', 'NaN')), 'json.dumps(float("nan")) is NaN');
    assert.equal(decodeValue('json', 'Infinity'), Number.POSITIVE_INFINITY);
    assert.deepStrictEqual(decodeValue('json', '[1.5, NaN, -Infinity]'), [1.5, NaN, -Infinity]);
  });

  test('non-string entries pass through on decode, as a Python worker does', () => {
    assert.equal(decodeValue('json', 1), 1);
    assert.deepEqual(decodeValue('json', { a: 1 }), { a: 1 });
    assert.equal(decodeValue('json', null), null);
    const inputs = [[1, 2, '"s"'], { k: [true], j: '3' }] as unknown as Parameters<typeof decodeInputs>[1];
    assert.deepEqual(decodeInputs('json', inputs), [[1, 2, 's'], { k: [true], j: 3 }]);
  });

  test('a raw string that is not JSON-encoded is refused naming the argument', () => {
    assertSerializationError(() => decodeInputs('json', [['1', 'hello'], {}]), /args\[1\]/, /hello/, /not JSON-encoded/);
    assertSerializationError(() => decodeInputs('json', [[], { x: 'plain' }]), /kwargs\['x'\]/);
    assertSerializationError(() => decodeValue('json', '{broken'), /value/);
  });

  test('NaN is written as Python writes it; nested undefined is dropped as in JSON', () => {
    assert.equal(encodeValue('json', Number.NaN), 'NaN');
    assert.equal(encodeValue('json', { a: undefined, b: 1 }), '{"b":1}');
  });
});

describe('json encoding errors name the argument', () => {
  test('undefined', () => {
    assertSerializationError(() => encodeInputs('json', [1, undefined], {}), /args\[1\]/, /undefined/);
    assertSerializationError(() => encodeInputs('json', [], { x: undefined }), /kwargs\.x/, /undefined/);
  });

  test('a function', () => {
    assertSerializationError(() => encodeInputs('json', [1, () => 2], {}), /args\[1\]/, /function/);
    assertSerializationError(() => encodeInputs('json', [], { x: Math.max }), /kwargs\.x/, /function/);
  });

  test('a BigInt, with a hint to use msgpack', () => {
    assertSerializationError(() => encodeInputs('json', [1, 10n], {}), /args\[1\]/, /BigInt/, /msgpack/);
    assertSerializationError(() => encodeInputs('json', [], { x: { n: 10n } }), /kwargs\.x/, /BigInt/);
  });

  test('a circular object', () => {
    assertSerializationError(() => encodeInputs('json', [1, circular()], {}), /args\[1\]/, /circular/i);
    assertSerializationError(() => encodeInputs('json', [], { x: circular() }), /kwargs\.x/, /circular/i);
  });

  test('a symbol', () => {
    assertSerializationError(() => encodeValue('json', Symbol('s'), 'argument 0'), /argument 0/, /symbol/);
  });

  test('the cause is kept', () => {
    try {
      encodeInputs('json', [{ toJSON: () => { throw new TypeError('no'); } }], {});
      assert.fail('should throw');
    } catch (error) {
      assert.ok(error instanceof SerializationError);
      assert.ok(error.cause instanceof TypeError);
    }
  });

  test('Result.create surfaces the same error', () => {
    assertSerializationError(() => Result.create({ method: 'm', args: [1, undefined] }), /args\[1\]/);
    assertSerializationError(() => Result.create({ method: 'm', kwargs: { x: circular() } }), /kwargs\.x/);
  });

  test('the value is named as value', () => {
    assertSerializationError(() => encodeValue('json', () => 1), /Cannot encode value/);
  });
});

describe('msgpack codec', () => {
  const roundTrip = (value: unknown): unknown => {
    const encoded = encodeValue('msgpack', value);
    assert.ok(encoded instanceof Uint8Array, 'msgpack encodes to bytes');
    // Through base64 as on the wire, into a fresh (possibly unaligned) buffer.
    const wire = Buffer.from(encoded).toString('base64');
    return decodeValue('msgpack', Buffer.from(wire, 'base64'));
  };

  test('Float64Array', () => {
    const value = new Float64Array([1.5, Number.NaN, -0, Number.POSITIVE_INFINITY, 1e-300]);
    const back = roundTrip(value);
    assert.ok(back instanceof Float64Array);
    assert.deepStrictEqual(back, value);
  });

  test('Int32Array and other typed arrays', () => {
    const ints = new Int32Array([1, -2, 2 ** 31 - 1, -(2 ** 31)]);
    const back = roundTrip(ints);
    assert.ok(back instanceof Int32Array);
    assert.deepStrictEqual(back, ints);
    const floats = new Float32Array([0.5, 2]);
    assert.deepStrictEqual(roundTrip(floats), floats);
  });

  test('Buffer and Uint8Array', () => {
    const buffer = Buffer.from([0, 1, 2, 254, 255]);
    const backBuffer = roundTrip(buffer);
    assert.ok(backBuffer instanceof Uint8Array);
    assert.deepStrictEqual(Buffer.from(backBuffer), buffer);
    const bytes = new Uint8Array([9, 8, 7]);
    const back = roundTrip(bytes);
    assert.ok(back instanceof Uint8Array);
    assert.deepEqual([...back], [9, 8, 7]);
  });

  test('a typed array viewing part of a larger buffer sends only its view', () => {
    const whole = new Float64Array([1, 2, 3, 4]);
    const view = whole.subarray(1, 3);
    assert.deepStrictEqual(roundTrip(view), new Float64Array([2, 3]));
  });

  test('a Map is refused (plain msgpack would bring it back as an object), naming the path', () => {
    assertSerializationError(() => encodeInputs('msgpack', [{ m: new Map([['a', 1]]) }], {}), /args\[0\]\.m/, /Map would arrive as a plain object/, /Object\.fromEntries/);
  });

  test('Date', () => {
    const when = new Date(1_700_000_000_123);
    const back = roundTrip(when);
    assert.ok(back instanceof Date);
    assert.equal(back.getTime(), when.getTime());
  });

  test('BigInt, small and beyond 64 bits', () => {
    assert.equal(roundTrip(5n), 5n);
    assert.equal(roundTrip(-(2n ** 63n)), -(2n ** 63n));
    assert.equal(roundTrip(2n ** 70n), 2n ** 70n);
  });

  test('nested plain data with NaN (kept, unlike JSON)', () => {
    const value = { a: [1, 'two', null, true], nested: { x: Number.NaN, arr: new Float64Array([1]) } };
    assert.deepStrictEqual(roundTrip(value), value);
  });

  test('inputs round-trip per argument', () => {
    const inputs = encodeInputs('msgpack', [new Float64Array([1, 2]), 3n], { when: new Date(0), buf: Buffer.from('hi') });
    for (const item of [...inputs[0], ...Object.values(inputs[1])]) assert.ok(item instanceof Uint8Array);
    const [args, kwargs] = decodeInputs('msgpack', inputs);
    assert.deepStrictEqual(args, [new Float64Array([1, 2]), 3n]);
    assert.ok(kwargs.when instanceof Date);
    assert.deepEqual([...(kwargs.buf as Uint8Array)], [...Buffer.from('hi')]);
  });

  test('decoding something other than bytes is a SerializationError', () => {
    assertSerializationError(() => decodeValue('msgpack', 'not bytes', 'argument 0'), /argument 0/, /bytes/);
    // A two-element array holding only one element: truncated data.
    assertSerializationError(() => decodeValue('msgpack', new Uint8Array([0x92, 0x01]), 'argument 3'), /argument 3/, /msgpack/);
    assertSerializationError(() => decodeValue('msgpack', new Uint8Array([])), /msgpack/);
  });

  test('a circular object is a SerializationError naming the argument, not a crash', () => {
    assertSerializationError(() => encodeInputs('msgpack', [1, circular()], {}), /args\[1\]/, /msgpack/);
  });
});

describe('pickle is refused both ways', () => {
  test('encode and decode name pickle and the argument', () => {
    assertSerializationError(() => encodeValue('pickle', 1, 'argument 0'), /pickle/, /argument 0/);
    assertSerializationError(() => decodeValue('pickle', '80044b012e', 'argument 0'), /pickle/, /argument 0/);
    assertSerializationError(() => decodeInputs('pickle', [['80044b012e'], {}]), /pickle/);
    assertSerializationError(() => Result.create({ method: 'm', args: [1], serializationMethod: 'pickle' }), /pickle/);
  });
});

describe('sizes', () => {
  test('bytes of text (UTF-8) and binary', () => {
    assert.equal(encodedSize('"café"'), 7);
    assert.equal(encodedSize(new Uint8Array(5)), 5);
    assert.equal(encodedSize(null), 0);
    assert.equal(encodedSize(undefined), 0);
    assert.equal(inputsSize([['1', '"café"'], { x: new Uint8Array(3) }]), 1 + 7 + 3);
  });
});

describe('refusals name the path inside the value', () => {
  test('nested functions, symbols, BigInts, Maps, Sets and typed arrays under JSON', () => {
    assertSerializationError(() => encodeInputs('json', [{ weights: { f: () => 1 } }], {}), /args\[0\]\.weights\.f as JSON: a function/);
    assertSerializationError(() => encodeInputs('json', [[1, Symbol('s')]], {}), /args\[0\]\[1\] as JSON: a symbol/);
    assertSerializationError(() => encodeInputs('json', [], { 'odd key': { n: 1n } }), /kwargs\["odd key"\]\.n as JSON: a BigInt/, /msgpack/);
    assertSerializationError(() => encodeInputs('json', [{ m: new Map() }], {}), /args\[0\]\.m as JSON: a Map would become \{\}/);
    assertSerializationError(() => encodeInputs('json', [new Set([1])], {}), /args\[0\] as JSON: a Set/);
    assertSerializationError(() => encodeInputs('json', [{ a: new Float64Array(2) }], {}), /args\[0\]\.a as JSON: a Float64Array/, /msgpack/);
  });

  test('nested functions under msgpack, which would drop them', () => {
    assertSerializationError(() => encodeInputs('msgpack', [{ a: [{ f: Math.max }] }], {}), /args\[0\]\.a\[0\]\.f with msgpack: a function/);
  });

  test('cycles and deep nesting, before the codec overflows its stack', () => {
    const cyclic: Record<string, unknown> = { a: {} };
    (cyclic.a as Record<string, unknown>).back = cyclic;
    assertSerializationError(() => encodeInputs('json', [cyclic], {}), /args\[0\]\.a\.back/, /circular/);
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i++) deep = [deep];
    assertSerializationError(() => encodeInputs('msgpack', [deep], {}), /args\[0\](\[0\])+ with msgpack: it nests deeper than 1000 levels/);
    // A value shared twice (not a cycle) is fine.
    const shared = { x: 1 };
    assert.equal(encodeValue('json', [shared, shared]), '[{"x":1},{"x":1}]');
  });

  test('a value too large for a JSON string is refused before the string is built', () => {
    const chunk = 'x'.repeat(64 * 1024 * 1024);
    const huge = Array.from({ length: 10 }, () => chunk); // 640 Mi characters of text, shared chunks
    assertSerializationError(() => encodeInputs('json', [1, huge], {}), /args\[1\] as JSON: it encodes to more than \d+ characters, the longest string Node can hold/, /msgpack/);
  });
});
