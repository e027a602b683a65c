/**
 * What Python's `json.loads` makes of a JSON text, written as a short canonical string: ints stay
 * ints (`2`), floats are written as Python's `repr` does (`2.0`, `-0.0`, `nan`, `inf`, `1e+16`),
 * `null` is `None`, `true`/`false` are `True`/`False`, strings are JSON-quoted (decoded first), and
 * containers are `[…]` / `{…}` with `, ` and `: `. Python's rule for which literal is a float: one
 * with a fraction or an exponent, or one of the tokens `NaN`, `Infinity`, `-Infinity`.
 */
export function pythonView(text: string): string {
  let i = 0;
  const ws = (): void => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const value = (): string => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const parts: string[] = [];
      ws();
      if (text[i] === '}') return i++, '{}';
      for (;;) {
        ws();
        const key = string();
        ws();
        if (text[i++] !== ':') throw new Error(`expected ':' at ${i - 1}`);
        parts.push(`${key}: ${value()}`);
        ws();
        if (text[i] === ',') i++;
        else if (text[i++] === '}') return `{${parts.join(', ')}}`;
        else throw new Error(`bad object at ${i - 1}`);
      }
    }
    if (c === '[') {
      i++;
      const parts: string[] = [];
      ws();
      if (text[i] === ']') return i++, '[]';
      for (;;) {
        parts.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i++] === ']') return `[${parts.join(', ')}]`;
        else throw new Error(`bad array at ${i - 1}`);
      }
    }
    if (c === '"') return string();
    for (const [token, view] of [['NaN', 'nan'], ['Infinity', 'inf'], ['-Infinity', '-inf'], ['null', 'None'], ['true', 'True'], ['false', 'False']] as const) {
      if (text.startsWith(token, i)) return (i += token.length), view;
    }
    const number = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i));
    if (!number) throw new Error(`unexpected ${JSON.stringify(text.slice(i, i + 10))} at ${i}`);
    i += number[0].length;
    const isFloat = number[1] !== undefined || number[2] !== undefined;
    return isFloat ? pythonFloatRepr(Number(number[0])) : BigInt(number[0]).toString();
  };
  const string = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.stringify(JSON.parse(text.slice(start, i)) as string);
  };
  const out = value();
  ws();
  if (i !== text.length) throw new Error(`trailing text at ${i}`);
  return out;
}

/** Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exponentText] = x.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  const fixed = x.toFixed(Math.max(0, (mantissa.split('.')[1]?.length ?? 0) - exponent));
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}
