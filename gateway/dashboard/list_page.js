// list_page.js -- the live list of the tasks and batches this browser knows, each followed by its event stream until final.

import { el, badge } from './html.js';
import { FINAL, forget, knownIds, remember } from './known_ids.js';
import { followUntilFinal } from './event_stream.js';

// A browser opens at most 6 HTTP/1.1 connections to one host: keep some for the page itself.
const MAX_STREAMS = 4;

function progressText(entry) {
  if (entry.kind === 'task' && entry.progress !== undefined && !FINAL.has(entry.status))
    return `${Math.round(entry.progress * 100)} %`;
  if (entry.kind === 'batch' && entry.counts)
    return `${entry.counts.correct ?? 0} correct, ${entry.counts.failed ?? 0} failed of ${entry.n ?? '?'}`;
  return '';
}

function row(entry) {
  const link = el('a', { href: `#/${entry.kind}/${entry.id}` }, entry.label || entry.id);
  const drop = el('button', { type: 'button', class: 'link', 'aria-label': `forget ${entry.id}` }, 'forget');
  drop.addEventListener('click', () => {
    forget(entry.kind, entry.id);
    drop.closest('tr').remove();
  });
  return el('tr', { 'data-kind': entry.kind, 'data-id': entry.id },
    el('td', {}, entry.kind), el('td', { class: 'id' }, link), el('td', {}, badge(entry.status || 'unknown')),
    el('td', {}, progressText(entry)), el('td', {}, new Date(entry.seen).toLocaleString()), el('td', {}, drop));
}

// Follow one entry's events, updating its row and the stored entry.
async function follow(entry, tr, signal) {
  const path = `/api/v1/${entry.kind === 'task' ? 'tasks' : 'batches'}/${entry.id}/events`;
  try {
    await followUntilFinal(path, (_name, record) => {
      const fields = { status: record.status, progress: record.progress, counts: record.counts,
        n: record.n_candidates };
      if (record.candidate_id || record.problem_name) fields.label = record.problem_name || record.candidate_id;
      const updated = remember(entry.kind, entry.id, fields);
      tr.replaceWith((tr = row(updated)));
    }, signal);
  } catch (err) {
    if (signal.aborted) return;
    if (/HTTP 404/.test(err.message)) tr.replaceWith((tr = row(remember(entry.kind, entry.id, { status: 'expired' }))));
  }
}

export function renderList(view, signal) {
  const entries = knownIds();
  view.append(el('h1', {}, 'Tasks and batches'));
  if (entries.length === 0) {
    view.append(el('p', {}, 'This browser has submitted or opened nothing yet. ',
      el('a', { href: '#/submit' }, 'Submit a function'), ', or open an id:'));
  }
  const open = el('form', { class: 'open-id' },
    el('label', { for: 'open-id' }, 'Open a task or batch id'),
    el('input', { id: 'open-id', name: 'id', pattern: '[A-Za-z0-9_\\-]{1,128}', required: true }),
    el('select', { name: 'kind', 'aria-label': 'kind' }, el('option', { value: 'task' }, 'task'),
      el('option', { value: 'batch' }, 'batch')),
    el('button', { type: 'submit' }, 'Open'));
  open.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/${open.kind.value}/${open.id.value.trim()}`;
  });
  view.append(open);
  if (entries.length === 0) return;
  const body = el('tbody');
  view.append(el('div', { class: 'table-wrap' }, el('table', { id: 'known' },
    el('thead', {}, el('tr', {}, ['kind', 'id', 'status', 'progress', 'first seen', ''].map((h) => el('th', { scope: 'col' }, h)))),
    body)));
  let streams = 0;
  for (const entry of entries) {
    const tr = row(entry);
    body.append(tr);
    if (FINAL.has(entry.status) || entry.status === 'expired') continue;
    if (streams++ < MAX_STREAMS) follow(entry, tr, signal);
  }
  if (streams > MAX_STREAMS) {
    view.append(el('p', {}, `${MAX_STREAMS} of ${streams} unfinished entries are followed live; open the others to follow them.`));
  }
}
