/**
 * The text of a finite number, exactly as `String(value)` writes it (and Python's `repr`, for
 * the values below), only quicker for the values messages are full of. Timestamps are taken to
 * the microsecond and durations to the nanosecond (see clock.ts), so nearly every one is a whole
 * count of those units; written from that integer it costs about half of the general conversion,
 * which was the largest single cost of encoding a result (fourteen timings, each a new number).
 */

/** Below these, one step between doubles is finer than a nanosecond (2²²) or a microsecond (2³³): a count of units names one double. */
const NS_EXACT_BELOW = 2 ** 22;
const US_EXACT_BELOW = 2 ** 33;

export function decimalText(value: number): string {
  // From 1e-6 up, String() writes plain digits (below, it switches to exponents).
  if (value >= 1e-6) {
    if (value < NS_EXACT_BELOW) {
      const ns = Math.round(value * 1e9);
      if (ns / 1e9 === value) return fromUnits(ns, 1e9, 9);
    }
    if (value < US_EXACT_BELOW) {
      const us = Math.round(value * 1e6);
      if (us / 1e6 === value) return fromUnits(us, 1e6, 6);
    }
  }
  return String(value);
}

/** `units / scale` in plain digits, trailing zeros of the fraction dropped (as String() does). */
function fromUnits(units: number, scale: number, digits: number): string {
  const whole = Math.floor(units / scale);
  let fraction = units - whole * scale;
  if (fraction === 0) return String(whole);
  while (fraction % 10 === 0) {
    fraction /= 10;
    digits--;
  }
  const text = String(fraction);
  return `${whole}.${text.length < digits ? '0'.repeat(digits - text.length) : ''}${text}`;
}
