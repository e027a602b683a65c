import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseLenientJson } from '../../src/models/lenient-json.js';
import { readVector, vectorNames } from './vectors.js';

describe('parseLenientJson', () => {
  test('plain JSON parses exactly as JSON.parse', () => {
    for (const text of [
      '{"a": [1, 2.5, null, true, false], "b": {"c": "d"}}',
      '[]',
      '"text"',
      '0',
      '-1.5e-7',
      'null',
      '{"n": 1e308, "m": -1e-308}',
      '{"s": "Infinity and NaN inside a string"}',
    ]) {
      assert.deepStrictEqual(parseLenientJson(text), JSON.parse(text), text);
    }
  });

  test('bare tokens at the top level', () => {
    assert.ok(Number.isNaN(parseLenientJson('NaN')), 'NaN alone (Python json.dumps(float("nan")))');
    assert.equal(parseLenientJson('Infinity'), Number.POSITIVE_INFINITY);
    assert.equal(parseLenientJson('-Infinity'), Number.NEGATIVE_INFINITY);
    assert.ok(Number.isNaN(parseLenientJson(' NaN ')));
  });

  test('tokens outside strings become numbers, in arrays and objects, with or without spaces', () => {
    assert.deepStrictEqual(parseLenientJson('[NaN, Infinity, -Infinity, 1]'), [NaN, Infinity, -Infinity, 1]);
    assert.deepStrictEqual(parseLenientJson('[NaN,Infinity,-Infinity]'), [NaN, Infinity, -Infinity]);
    assert.deepStrictEqual(parseLenientJson('{"a":NaN,"b":{"c":[NaN,{"d":NaN}]}}'), { a: NaN, b: { c: [NaN, { d: NaN }] } });
    assert.deepStrictEqual(parseLenientJson('{"a": NaN, "b": -Infinity, "c": [Infinity, NaN]}'), {
      a: NaN,
      b: -Infinity,
      c: [Infinity, NaN],
    });
    assert.deepStrictEqual(parseLenientJson('[[NaN], [[NaN]], NaN]'), [[NaN], [[NaN]], NaN]);
  });

  test('the same text inside strings is untouched', () => {
    const text = '{"s": "NaN", "t": "x Infinity -Infinity", "u": "say \\"NaN\\" ok", "NaN": NaN, "Infinity": "-Infinity"}';
    assert.deepStrictEqual(parseLenientJson(text), {
      s: 'NaN',
      t: 'x Infinity -Infinity',
      u: 'say "NaN" ok',
      NaN: NaN,
      Infinity: '-Infinity',
    });
    // Strings with Infinity tokens outside too (the rewriting path).
    assert.deepStrictEqual(parseLenientJson('{"s": "NaN Infinity", "v": Infinity, "w": NaN}'), {
      s: 'NaN Infinity',
      v: Infinity,
      w: NaN,
    });
  });

  test('escaped backslashes and quotes before a string ends', () => {
    assert.deepStrictEqual(parseLenientJson('{"s": "a\\\\", "n": NaN}'), { s: 'a\\', n: NaN });
    assert.deepStrictEqual(parseLenientJson('{"s": "a\\\\\\"NaN", "n": NaN}'), { s: 'a\\"NaN', n: NaN });
    assert.deepStrictEqual(parseLenientJson('{"s": "\\"", "n": Infinity}'), { s: '"', n: Infinity });
  });

  test('a string that looks like an internal placeholder stays a string', () => {
    for (const token of ['NaN', 'Infinity', '-Infinity']) {
      const text = `{"a": NaN, "b": Infinity, "c": "\\u0000colmena-non-finite:${token}"}`;
      const parsed = parseLenientJson(text) as Record<string, unknown>;
      assert.equal(parsed.c, `\u0000colmena-non-finite:${token}`);
    }
  });

  test('numbers that overflow to Infinity do not swap places with NaN', () => {
    // 1e999 is valid JSON for Infinity; a NaN elsewhere must stay NaN and the overflow stay Infinity.
    assert.deepStrictEqual(parseLenientJson('[1e999, NaN]'), [Infinity, NaN]);
    assert.deepStrictEqual(parseLenientJson('{"a": 1E400, "b": NaN, "c": -1e999}'), { a: Infinity, b: NaN, c: -Infinity });
  });

  test('invalid text still throws a SyntaxError', () => {
    for (const text of ['{"a": NaN', '{"a": nan}', '{"a": Nan}', 'NaNa', '{"a": "NaN}', '', '{"a": Infinit}', '[NaN NaN]']) {
      assert.throws(() => parseLenientJson(text), SyntaxError, JSON.stringify(text));
    }
  });

  test('every captured Python message parses, unset floats as NaN', () => {
    for (const name of vectorNames()) {
      const text = readVector(name);
      const brace = text.indexOf('{');
      if (brace < 0) continue;
      const parsed = parseLenientJson(text.slice(brace)) as { timestamp: Record<string, number>; time: Record<string, unknown> };
      assert.ok(Number.isNaN(parsed.timestamp.result_received), name);
      assert.ok(Number.isNaN(parsed.time.deserialize_results), name);
      assert.equal(typeof parsed.timestamp.created, 'number', name);
      assert.ok(Number.isFinite(parsed.timestamp.created), name);
    }
  });
});
