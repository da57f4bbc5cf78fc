// known_ids.js -- the tasks and batches this browser submitted or opened, kept in localStorage (the API has no list route).

const KEY = 'jouletrace.known';
const MAX = 200;

// [{kind: 'task'|'batch', id, status, label, seen}], newest first.
export function knownIds() {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

// Add or update one entry (moved to the front when new).
export function remember(kind, id, fields = {}) {
  const list = knownIds();
  const at = list.findIndex((e) => e.kind === kind && e.id === id);
  const entry = { ...(at >= 0 ? list[at] : { kind, id, seen: Date.now() }), ...fields };
  if (at >= 0) list[at] = entry;
  else list.unshift(entry);
  localStorage.setItem(KEY, JSON.stringify(list.slice(0, MAX)));
  return entry;
}

export function forget(kind, id) {
  localStorage.setItem(KEY, JSON.stringify(knownIds().filter((e) => !(e.kind === kind && e.id === id))));
}

export const FINAL = new Set(['completed', 'failed', 'cancelled']);
