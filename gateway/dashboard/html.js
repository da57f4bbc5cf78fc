// html.js -- building DOM nodes and formatting numbers for the pages (no innerHTML of data).

// el('td', {class: 'num'}, 'text', child...): an element with attributes and children.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// An SVG element (attributes as for el).
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child !== undefined && child !== null) node.append(child);
  }
  return node;
}

// A number with a unit in engineering form: 0.00123 J -> "1.23 mJ"; null -> "–".
export function quantity(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const steps = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k'], [1, ''], [1e-3, 'm'], [1e-6, 'µ'], [1e-9, 'n']];
  const size = Math.abs(value);
  if (size === 0) return `0 ${unit}`;
  for (const [factor, prefix] of steps) {
    if (size >= factor) return `${(value / factor).toPrecision(3)} ${prefix}${unit}`;
  }
  return `${value.toExponential(2)} ${unit}`;
}

// A plain number (3 significant digits), or "–".
export function num(value) {
  if (value === null || value === undefined) return '–';
  if (typeof value !== 'number') return String(value);
  return Number.isInteger(value) ? String(value) : value.toPrecision(3);
}

// A definition list from [label, value] pairs.
export function facts(pairs) {
  return el('dl', { class: 'facts' },
    pairs.map(([label, value]) => [el('dt', {}, label), el('dd', {}, value ?? '–')]));
}

// A table from column headers and rows of cells.
export function table(headers, rows, attrs = {}) {
  return el('div', { class: 'table-wrap' },
    el('table', attrs,
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, rows)));
}

// A status word as a badge whose meaning is in its text (the colour only repeats it).
export function badge(word) {
  return el('span', { class: `badge badge-${String(word).replace(/[^a-z_]/gi, '')}` }, word);
}

// A titled card of a page; data-section names it for the tests ("Failed candidates" -> failed-candidates).
export function section(title, ...children) {
  return el('section', { class: 'card', 'data-section': title.toLowerCase().replace(/[^a-z]+/g, '-') },
    el('h2', {}, title), ...children);
}

// The alert shown when a task's or batch's stream was refused (noun: "task" or "batch").
export function refusal(err, noun) {
  const text = /HTTP 404/.test(err.message) ? `No such ${noun} (unknown, or expired 48 h after its last change).`
    : /HTTP 401/.test(err.message) ? 'The gateway wants an API token: type it in above.' : err.message;
  return el('p', { class: 'error', role: 'alert' }, text);
}
