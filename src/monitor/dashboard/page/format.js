// Number and time formatting, and a small DOM helper. Text is always set as text, never as HTML.

const integer = new Intl.NumberFormat('en');

/** @param {number} n */
export function formatInt(n) {
  return Number.isFinite(n) ? integer.format(Math.round(n)) : '–';
}

/** A duration in seconds, in the unit that reads best. @param {number} seconds */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds)) return '–';
  const s = Math.abs(seconds);
  if (s < 1e-3) return `${(seconds * 1e6).toPrecision(3)} µs`;
  if (s < 1) return `${(seconds * 1e3).toPrecision(3)} ms`;
  if (s < 120) return `${seconds.toPrecision(3)} s`;
  return formatClock(seconds);
}

/** Seconds as m:ss or h:mm:ss. @param {number} seconds */
export function formatClock(seconds) {
  if (!Number.isFinite(seconds)) return '–';
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** A rate per second. @param {number} rate */
export function formatRate(rate) {
  if (!Number.isFinite(rate)) return '–';
  return rate >= 100 ? integer.format(Math.round(rate)) : rate.toPrecision(3);
}

/**
 * Create an element with attributes and children (strings become text nodes).
 * @param {string} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 * @param {(Node | string | null | undefined)[]} [children]
 */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

/** A legend's colour square (styled through the DOM: the page's policy allows no inline style markup). @param {string} color */
export function swatch(color) {
  const node = document.createElement('i');
  node.style.background = color;
  return node;
}

/** Replace the rows of a table body. @param {HTMLElement} tbody @param {HTMLElement[]} rows @param {number} columns @param {string} empty */
export function fillRows(tbody, rows, columns, empty) {
  if (rows.length === 0) rows = [el('tr', {}, [el('td', { colspan: columns, class: 'empty' }, [empty])])];
  tbody.replaceChildren(...rows);
}
