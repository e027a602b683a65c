/** What the by-reference part of the distributed benchmark serves: the value back as it came. */
export function echo<T>(value: T): T {
  return value;
}
