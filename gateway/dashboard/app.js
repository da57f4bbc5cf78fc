// app.js -- the dashboard's entry: the token field and the hash routes (#/, #/submit, #/task/ID, #/batch/ID).

import { setToken, token } from './api.js';
import { renderList } from './list_page.js';
import { renderSubmitForm } from './submit_form.js';
import { renderTask } from './task_page.js';
import { renderBatch } from './batch_page.js';
import { el } from './html.js';

const view = document.getElementById('view');
let current = null; // the AbortController of the shown page: its streams stop on navigation

const ID = /^[A-Za-z0-9_-]{1,128}$/;

function route() {
  current?.abort();
  current = new AbortController();
  const signal = current.signal;
  view.replaceChildren();
  const [, page, id] = (location.hash || '#/').split('/');
  const done = (() => {
    if (page === 'submit') return renderSubmitForm(view, signal);
    if (page === 'task' && ID.test(id || '')) return renderTask(view, id, signal);
    if (page === 'batch' && ID.test(id || '')) return renderBatch(view, id, signal);
    return renderList(view, signal);
  })();
  Promise.resolve(done).catch((err) => {
    if (signal.aborted) return;
    view.append(el('p', { class: 'error', role: 'alert' }, `Error: ${err.message}`));
  });
}

const tokenForm = document.getElementById('token-form');
const tokenInput = document.getElementById('token');
tokenInput.value = token();
tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  setToken(tokenInput.value.trim());
  route();
});

window.addEventListener('hashchange', route);
route();
