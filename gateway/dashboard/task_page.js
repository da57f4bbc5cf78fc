// task_page.js -- one task: progress, validation table, energy and statistics, quality verdict, plots, proxies, provenance.

import { el, badge, facts, num, quantity, refusal, section, table } from './html.js';
import { followUntilFinal } from './event_stream.js';
import { FINAL, remember } from './known_ids.js';
import { energyPlot, timelinePlot } from './plots.js';


function validationSection(v) {
  if (!v) return null;
  const rows = (v.test_results || []).map((t) => el('tr', { class: t.passed ? 'pass' : 'fail' },
    el('td', {}, t.test_id), el('td', {}, t.passed ? '✓ passed' : '✗ FAILED'), el('td', {}, t.status),
    el('td', { class: 'code' }, t.actual_output ?? '–'), el('td', {}, t.message ?? ''), el('td', { class: 'num' }, quantity(t.seconds, 's'))));
  return section('Validation',
    el('p', {}, `${v.is_correct ? 'Correct' : 'Not correct'}: ${v.passed_tests} of ${v.total_tests} tests passed (${v.pass_rate} %).`),
    v.error_summary ? el('p', { class: 'error' }, v.error_summary) : null,
    table(['test', 'result', 'status', 'returned', 'message', 'time'], rows, { id: 'validation' }));
}

function energySection(rec) {
  const e = rec.energy_metrics;
  if (!e) return null;
  const bound = e.is_upper_bound ? ' (upper bound: not resolved above zero)' : '';
  return section('Energy per run',
    facts([
      ['total', `${quantity(e.median_total_energy_joules, 'J')}${bound}`],
      ['package', quantity(e.median_package_energy_joules, 'J')],
      ['dram', quantity(e.median_ram_energy_joules, 'J')],
      ['per test case', quantity(e.energy_per_test_case_joules, 'J')],
      ['time', quantity(e.median_execution_time_seconds, 's')],
      ['power', quantity(e.power_consumption_watts, 'W')],
    ]));
}

function qualitySection(q) {
  if (!q) return null;
  return section('Quality',
    el('p', { id: 'verdict' }, 'Verdict: ', badge(q.verdict)),
    el('ul', { class: 'reasons' }, (q.reasons || []).map((r) => el('li', {}, r))),
    facts([
      ['net energy resolved', q.net_energy_resolved ? 'yes' : 'no'],
      ['idle before', quantity(q.idle_watts_before, 'W')],
      ['idle after', quantity(q.idle_watts_after, 'W')],
      ['drift', q.drift_percent === null || q.drift_percent === undefined ? '–' : `${num(q.drift_percent)} %`],
    ]));
}

function statisticsSection(s) {
  if (!s) return null;
  return section('Statistics',
    facts([
      ['trials', `${s.trials} (+${s.warmup_trials ?? 0} warmup), ${s.repeats_per_trial} runs each`],
      ['median', quantity(s.median, 'J')],
      ['95 % interval', `${quantity(s.ci95_low, 'J')} … ${quantity(s.ci95_high, 'J')}`],
      ['mean ± stddev', `${quantity(s.mean, 'J')} ± ${quantity(s.stddev, 'J')}`],
      ['CV', s.cv_percent === null || s.cv_percent === undefined ? '–' : `${num(s.cv_percent)} %`],
      ['MAD', quantity(s.mad, 'J')],
      ['outliers', s.outlier_count ? `${s.outlier_count}: trials ${(s.outliers || []).join(', ')}` : 'none'],
      ['stopped', s.early_stop_reason],
    ]));
}

function trialsSection(rec, signal) {
  const trials = rec.trials || [];
  if (trials.length === 0) return null;
  const energy = el('div', { class: 'plot', id: 'energy-plot' });
  const timeline = el('div', { class: 'plot', id: 'timeline-plot' });
  const select = el('select', { id: 'timeline-trial', 'aria-label': 'trial shown' },
    trials.map((t) => el('option', { value: t.index }, `trial ${t.index}${t.outlier ? ' (outlier)' : ''}`)));
  let plotSignal = null;
  const show = () => {
    plotSignal?.abort();
    plotSignal = new AbortController();
    signal.addEventListener('abort', () => plotSignal.abort(), { once: true });
    timeline.replaceChildren();
    const trial = trials.find((t) => String(t.index) === select.value) || trials[0];
    timeline.dataset.trial = trial.index;
    if ((trial.power_timeline || []).length === 0) timeline.append(el('p', {}, 'No power timeline for this trial.'));
    else timelinePlot(timeline, trial, plotSignal.signal);
  };
  select.addEventListener('change', show);
  const rows = trials.map((t) => el('tr', {},
    el('td', {}, t.index), el('td', { class: 'num' }, quantity(t.net_total_joules_per_run, 'J')),
    el('td', { class: 'num' }, quantity(t.net_power_watts, 'W')), el('td', { class: 'num' }, quantity(t.seconds, 's')),
    el('td', { class: 'num' }, t.repeats), el('td', {}, t.outlier ? 'outlier' : ''),
    el('td', { class: 'num' }, (t.power_timeline || []).length)));
  const card = section('Trials', energy,
    el('div', { class: 'field inline' }, el('label', { for: 'timeline-trial' }, 'Power timeline of'), select), timeline,
    table(['trial', 'net J/run', 'net W', 'window', 'runs', '', 'timeline points'], rows, { id: 'trials' }));
  // uPlot measures its container: plot once the card is in the page.
  queueMicrotask(() => {
    energyPlot(energy, trials, rec.statistics, signal);
    show();
  });
  return card;
}

function proxiesSection(p) {
  if (!p) return null;
  const absent = p.absent || {};
  const value = (name, unit) => (p[name] === null || p[name] === undefined ? `absent: ${absent[name] ?? 'not reported'}` : unit ? quantity(p[name], unit) : num(p[name]));
  return section('Proxies per run',
    facts([
      ['CPU time', value('cpu_seconds', 's')], ['user', value('cpu_user_seconds', 's')],
      ['system', value('cpu_system_seconds', 's')], ['peak RSS', p.peak_rss_kb === null || p.peak_rss_kb === undefined ? value('peak_rss_kb') : `${p.peak_rss_kb} KiB`],
      ['instructions', value('instructions')], ['cycles', value('cycles')], ['cache misses', value('cache_misses')],
    ]));
}

function provenanceSection(m) {
  if (!m) return null;
  const cal = m.calibration || {};
  return section('Provenance',
    facts([
      ['meter', `${m.meter_type}${m.energy_is_estimated ? ' (ESTIMATED energy, not measured)' : ''}`],
      ['domains', (m.energy_domains || []).join(', ')],
      ['CPU', m.cpu_model], ['socket / core', `${m.socket} / ${m.measurement_core}`],
      ['governor', m.governor], ['frequency', m.frequency_mhz ? `${num(m.frequency_mhz)} MHz` : null],
      ['temperature', m.temperature_c_start === null || m.temperature_c_start === undefined ? null : `${num(m.temperature_c_start)} → ${num(m.temperature_c_end)} °C`],
      ['thermal control', m.thermal_controlled ? 'yes' : 'no'],
      ['calibration', cal.calibrated ? `${quantity(cal.idle_power_watts, 'W')} idle, ${num(cal.age_days)} days old` : `not calibrated (${quantity(cal.idle_power_watts, 'W')} idle assumed)`],
      ['kernel', m.kernel ? `${m.kernel.release}` : null], ['Python', m.python_version],
      ['JouleTrace', m.jouletrace_version],
      ['measured at', m.timestamp ? new Date(m.timestamp * 1000).toISOString() : null],
    ]));
}

function header(rec) {
  const final = FINAL.has(rec.status);
  return el('section', { class: 'card summary' },
    el('p', {}, 'Status: ', badge(rec.status), rec.stage && rec.stage !== rec.status ? ` (${rec.stage})` : ''),
    final ? null : el('p', {}, el('progress', { max: 1, value: rec.progress ?? 0, 'aria-label': 'progress' }),
      ` ${Math.round((rec.progress ?? 0) * 100)} %`, rec.trials_total ? ` — trial ${rec.trial ?? 0} of ${rec.trials_total}` : '',
      rec.cv_percent !== null && rec.cv_percent !== undefined ? `, CV ${num(rec.cv_percent)} %` : ''),
    rec.error ? el('p', { class: 'error', role: 'alert' }, `${rec.error_type}: ${rec.error}`) : null,
    facts([['candidate', rec.candidate_id], ['problem', rec.problem_name], ['worker', rec.worker],
      ['created', rec.created_at], ['updated', rec.updated_at]]));
}

function render(body, rec, signal) {
  body.replaceChildren(header(rec), validationSection(rec.validation) ?? '', qualitySection(rec.quality) ?? '',
    energySection(rec) ?? '', statisticsSection(rec.statistics) ?? '', trialsSection(rec, signal) ?? '',
    proxiesSection(rec.proxies) ?? '', provenanceSection(rec.measurement_environment) ?? '');
  body.dataset.status = rec.status;
}

export async function renderTask(view, id, signal) {
  const body = el('div', { id: 'task', 'data-status': 'loading' }, el('p', {}, 'Loading…'));
  view.append(el('h1', {}, 'Task ', el('span', { class: 'id' }, id)), body);
  let pageSignal = new AbortController();
  signal.addEventListener('abort', () => pageSignal.abort(), { once: true });
  try {
    await followUntilFinal(`/api/v1/tasks/${id}/events`, (_name, rec) => {
      remember('task', id, { status: rec.status, progress: rec.progress, label: rec.problem_name || rec.candidate_id });
      pageSignal.abort(); // the plots of the previous record
      pageSignal = new AbortController();
      signal.addEventListener('abort', () => pageSignal.abort(), { once: true });
      render(body, rec, pageSignal.signal);
    }, signal);
  } catch (err) {
    if (signal.aborted) return;
    body.replaceChildren(refusal(err, 'task'));
  }
}
