// submit_form.js -- the form that POSTs a job to /api/v1/measure and opens its task page.

import { submitMeasure } from './api.js';
import { el } from './html.js';
import { remember } from './known_ids.js';

const EXAMPLE_CODE = 'def solve(x):\n  return x * x\n';
const EXAMPLE_TESTS = JSON.stringify([
  { test_id: 't1', inputs: [2], expected_output: 4 },
  { test_id: 't2', inputs: [7], expected_output: 49 },
], null, 2);

function field(id, label, input, hint) {
  return el('div', { class: 'field' }, el('label', { for: id }, label), input,
    hint ? el('small', { id: `${id}-hint` }, hint) : null);
}

export function renderSubmitForm(view) {
  const code = el('textarea', { id: 'candidate_code', name: 'candidate_code', rows: 10, spellcheck: 'false', required: true });
  code.value = EXAMPLE_CODE;
  const fn = el('input', { id: 'function_name', name: 'function_name', value: 'solve', required: true });
  const tests = el('textarea', { id: 'test_cases', name: 'test_cases', rows: 8, spellcheck: 'false',
    'aria-describedby': 'test_cases-hint', required: true });
  tests.value = EXAMPLE_TESTS;
  const trials = el('input', { id: 'trials', name: 'trials', type: 'number', min: 1, max: 100, value: 3 });
  const timeout = el('input', { id: 'timeout_seconds', name: 'timeout_seconds', type: 'number', min: 1, max: 300, value: 20 });
  const problem = el('input', { id: 'problem_name', name: 'problem_name', placeholder: 'optional' });
  const message = el('p', { id: 'submit-message', role: 'status' });
  const form = el('form', { id: 'submit-form', class: 'submit' },
    field('candidate_code', 'Python code', code),
    field('function_name', 'Function name', fn),
    field('test_cases', 'Test cases (JSON)', tests,
      'A list of {test_id, inputs, expected_output}; inputs as a list are f(*inputs).'),
    el('div', { class: 'row' }, field('trials', 'Trials', trials), field('timeout_seconds', 'Timeout (s)', timeout),
      field('problem_name', 'Problem name', problem)),
    el('button', { type: 'submit' }, 'Measure'), message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let testCases;
    try {
      testCases = JSON.parse(tests.value);
    } catch (err) {
      message.textContent = `Test cases are not JSON: ${err.message}`;
      return;
    }
    const job = { candidate_code: code.value, function_name: fn.value.trim(), test_cases: testCases,
      energy_measurement_trials: Number(trials.value), timeout_seconds: Number(timeout.value) };
    if (problem.value.trim()) job.problem_name = problem.value.trim();
    message.textContent = 'Submitting…';
    try {
      const answer = await submitMeasure(job);
      remember('task', answer.task_id, { status: answer.status, label: job.problem_name });
      location.hash = `#/task/${answer.task_id}`;
    } catch (err) {
      message.textContent = `Refused (${err.status ?? 'network'} ${err.code ?? ''}${err.field ? `, field ${err.field}` : ''}): ${err.message}`;
    }
  });
  view.append(el('h1', {}, 'Measure a function'), form);
}
