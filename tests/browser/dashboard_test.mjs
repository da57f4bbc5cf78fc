// dashboard_test.mjs -- the dashboard in headless chromium against a real gateway and worker: `node dashboard_test.mjs CASE` (tests/browser.cmake).
//
// Cases: task_page (submit the README example from the form, watch it finish, the timeline plot
// holds the trial's points), batch_ranking (a batch POSTed by the test: one ranking row per
// ranked candidate, the failed one with its test results; the list follows it live), files (the files as served, the page
// without and with a token; no worker). No console errors in any.
// Screenshots go to JT_BROWSER_ARTEFACTS; with JT_DOCS_IMAGES set, the README's images too.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Browser } from './browser.mjs';
import { System, TOKEN } from './system.mjs';

const BUILD = process.env.JT_BUILD_DIR;
const ARTEFACTS = process.env.JT_BROWSER_ARTEFACTS;
const TMP = process.env.JT_BROWSER_TMP;
const DOCS_IMAGES = process.env.JT_DOCS_IMAGES; // set to docs/images to refresh the README's screenshots

async function screenshot(page, name, { fullPage = true, docs = true } = {}) {
  mkdirSync(ARTEFACTS, { recursive: true });
  const file = path.join(ARTEFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  if (DOCS_IMAGES && docs) copyFileSync(file, path.join(DOCS_IMAGES, `dashboard-${name}.png`));
  console.log(`screenshot: ${file}`);
}

// Open the dashboard and give it the token as a user does.
async function openDashboard(browser, system) {
  const page = await browser.page();
  await page.goto(`${system.base}/`);
  await page.fill('#token', TOKEN);
  await page.click('#token-form button');
  return page;
}

async function taskPage(browser, system) {
  const page = await openDashboard(browser, system);
  await page.click('a[href="#/submit"]');
  await page.waitForSelector('#submit-form');
  // The form holds the README example; submit it as it is.
  assert.match(await page.inputValue('#candidate_code'), /def solve\(x\):\n {2}return x \* x/);
  await page.click('#submit-form button[type=submit]');
  await page.waitForURL(/#\/task\/[A-Za-z0-9_-]+$/);
  const id = page.url().split('/').pop();
  await page.waitForSelector('#task[data-status=completed]', { timeout: 180000 });
  const record = (await system.api('GET', `/api/v1/tasks/${id}`)).body;
  assert.equal(record.status, 'completed');
  // The validation table: one row per test case, both passed.
  assert.equal(await page.locator('#validation tbody tr.pass').count(), 2);
  assert.match(await page.textContent('#verdict'), new RegExp(`Verdict: ${record.quality.verdict}`));
  // The timeline plot holds trial 0's points, as uPlot keeps them.
  await page.waitForSelector('#timeline-plot .uplot');
  const timeline = record.trials[0].power_timeline;
  assert.ok(timeline.length > 0, 'trial 0 has a power timeline');
  const plotted = await page.evaluate(() => {
    const plot = document.querySelector('#timeline-plot').uplot;
    return { trial: document.querySelector('#timeline-plot').dataset.trial, x: plot.data[0], series: plot.data.length - 1 };
  });
  assert.equal(plotted.trial, '0');
  assert.deepEqual(plotted.x, timeline.map((p) => p.t));
  assert.equal(plotted.series, Object.keys(timeline[0].watts).length);
  // The energy plot: one point per trial.
  const energyPoints = await page.evaluate(() => document.querySelector('#energy-plot').uplot.data[1]);
  assert.deepEqual(energyPoints, record.trials.map((t) => t.net_total_joules_per_run));
  assert.match(await page.textContent('[data-section=provenance]'), /estimate/);
  await screenshot(page, 'task');
  // On a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  await screenshot(page, 'task-phone', { fullPage: false, docs: false });
  // The list shows the task, final.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${system.base}/#/`);
  await page.waitForSelector(`#known tr[data-id="${id}"]`);
  assert.match(await page.textContent(`#known tr[data-id="${id}"]`), /completed/);
}

async function batchRanking(browser, system) {
  const candidates = [
    { candidate_id: 'mul', candidate_code: 'def solve(x):\n  return x * x\n' },
    { candidate_id: 'loop', candidate_code: 'def solve(x):\n  return sum(x for _ in range(x))\n' },
    { candidate_id: 'slow', candidate_code: 'def solve(x):\n  s = 0\n  for _ in range(20000):\n    s += 1\n  return x * x\n' },
    { candidate_id: 'wrong', candidate_code: 'def solve(x):\n  return x + 1\n' },
  ];
  const submitted = await system.api('POST', '/api/v1/batches', {
    function_name: 'solve', problem_name: 'square',
    test_cases: [{ test_id: 't1', inputs: [7], expected_output: 49 }, { test_id: 't2', inputs: [3], expected_output: 9 }],
    candidates, max_measurement_seconds: 30, energy_measurement_trials: 3, warmup_trials: 0,
  });
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
  const id = submitted.body.batch_id;
  const page = await openDashboard(browser, system);
  await page.fill('#open-id', id);
  await page.selectOption('select[name=kind]', 'batch');
  await page.click('.open-id button');
  await page.waitForSelector('#batch:not([data-status=loading])');
  // The list follows the batch live: shown while it is measured, completed without a reload.
  await page.click('nav a[href="#/"]');
  const listed = page.locator(`#known tr[data-id="${id}"]`);
  assert.doesNotMatch(await listed.textContent(), /completed/);
  await page.waitForSelector(`#known tr[data-id="${id}"] .badge-completed`, { timeout: 240000 });
  await listed.locator('a').click();
  await page.waitForSelector('#batch[data-status=completed] #ranking');
  const record = (await system.api('GET', `/api/v1/batches/${id}`)).body;
  assert.equal(record.ranking.length, 3);
  // One row per ranked candidate in the plot and in the table, in rank order, tier in words.
  const rows = await page.$$eval('.ranking-plot .rank-row', (gs) => gs.map((g) => g.dataset.candidate));
  assert.deepEqual(rows, record.ranking.map((r) => r.candidate_id));
  const tiers = await page.$$eval('#ranking tbody tr td:nth-child(3)', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(tiers.map((t) => t.match(/^tier (\d+)/)[1]), record.ranking.map((r) => String(r.tier)));
  // The failed candidate with its test results.
  const failed = page.locator('.failed[data-candidate=wrong]');
  assert.match(await failed.textContent(), /0 of 2 tests passed/);
  assert.equal(await failed.locator('tbody tr').count(), 2);
  await screenshot(page, 'batch');
}

// The files as served: content types, open without the token the API wants, 404, 405; then the
// page in chromium without a token: it loads (no console error) and says the API wants one.
async function files(browser, system) {
  const expect = { '/': 'text/html', '/index.html': 'text/html', '/dashboard/app.js': 'text/javascript',
    '/dashboard/style.css': 'text/css', '/dashboard/vendor/uPlot.esm.js': 'text/javascript',
    '/dashboard/vendor/uPlot.min.css': 'text/css', '/dashboard/favicon.svg': 'image/svg+xml' };
  for (const [route, type] of Object.entries(expect)) {
    const response = await fetch(`${system.base}${route}`);
    assert.equal(response.status, 200, route);
    assert.equal(response.headers.get('content-type').split(';')[0], type, route);
    assert.match(response.headers.get('content-security-policy'), /script-src 'self'/, route);
    assert.ok((await response.arrayBuffer()).byteLength > 0, route);
  }
  assert.equal((await fetch(`${system.base}/dashboard/missing.js`)).status, 404);
  assert.equal((await fetch(`${system.base}/api/v1/health`)).status, 401, 'the API still wants the token');
  assert.equal((await fetch(`${system.base}/`, { method: 'DELETE' })).status, 401, 'only GET and HEAD are open');
  const refused = await fetch(`${system.base}/`, { method: 'DELETE', headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(refused.status, 405);
  assert.equal(refused.headers.get('allow'), 'GET, HEAD');
  const page = await browser.page();
  await page.goto(`${system.base}/#/task/no-such-task`);
  await page.waitForSelector('#task [role=alert]');
  assert.match(await page.textContent('#task [role=alert]'), /wants an API token/);
  browser.consoleErrors = browser.consoleErrors.filter((e) => !/status of 401.*no-such-task\/events/.test(e)); // the refusal itself
  await page.fill('#token', TOKEN);
  await page.click('#token-form button');
  await page.waitForSelector('#task [role=alert]');
  assert.match(await page.textContent('#task [role=alert]'), /No such task/);
  browser.consoleErrors = browser.consoleErrors.filter((e) => !/status of 404.*no-such-task\/events/.test(e));
}

const cases = { task_page: taskPage, batch_ranking: batchRanking, files };
const NEEDS_WORKER = { task_page: true, batch_ranking: true, files: false };

async function main() {
  const name = process.argv[2];
  if (!cases[name]) throw new Error(`usage: node dashboard_test.mjs ${Object.keys(cases).join('|')}`);
  for (const [key, value] of Object.entries({ JT_BUILD_DIR: BUILD, JT_BROWSER_ARTEFACTS: ARTEFACTS, JT_BROWSER_TMP: TMP }))
    if (!value) throw new Error(`${key} is not set: run these tests through ctest (tests/browser.cmake)`);
  const system = new System(BUILD, TMP);
  const browser = new Browser(TMP);
  let failure = null;
  try {
    await system.start({ worker: NEEDS_WORKER[name] });
    await browser.start();
    await cases[name](browser, system);
    assert.deepEqual(browser.consoleErrors, [], 'the pages wrote no console errors');
  } catch (err) {
    failure = err;
    console.error(system.logs());
  } finally {
    await browser.stop().catch((err) => console.error(`closing chromium: ${err.message}`));
    await system.stop();
  }
  if (failure) throw failure;
  console.log(`${name}: passed`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
