// batch_page.js -- one batch: its candidates' states, the ranking as an interval plot with tiers, failed candidates with their test results.

import { el, badge, facts, num, quantity, refusal, section, table } from './html.js';
import { followUntilFinal } from './event_stream.js';
import { FINAL, remember } from './known_ids.js';
import { getBatch } from './api.js';
import { rankingPlot, tierMarkerName } from './plots.js';


function rankingSection(rec) {
  const ranking = rec.ranking || [];
  if (ranking.length === 0) return null;
  const rows = ranking.map((r) => el('tr', { 'data-candidate': r.candidate_id },
    el('td', { class: 'num' }, `${r.rank} (${r.rank_low}–${r.rank_high})`), el('td', {}, r.candidate_id),
    el('td', {}, `tier ${r.tier} (${tierMarkerName(r.tier)})`), el('td', { class: 'num' }, quantity(r.median_energy_joules, 'J')),
    el('td', { class: 'num' }, `${quantity(r.ci95_low, 'J')} … ${quantity(r.ci95_high, 'J')}`),
    el('td', { class: 'num' }, r.half_width_percent === undefined ? '–' : `±${num(r.half_width_percent)} %`),
    el('td', { class: 'num' }, r.ratio_to_reference === undefined || r.ratio_to_reference === null ? '–' : `${num(r.ratio_to_reference)}×`),
    el('td', { class: 'num' }, r.trials ?? '–')));
  return section('Ranking', rankingPlot(ranking),
    table(['rank (interval)', 'candidate', 'tier', 'median J/run', '95 % interval', 'half-width', 'vs reference', 'trials'], rows,
      { id: 'ranking' }));
}

function failedSection(rec) {
  const failed = (rec.candidates || []).filter((c) => c.state === 'failed');
  const measureFailed = (rec.failed || []).filter((f) => f.stage === 'measurement');
  if (failed.length === 0 && measureFailed.length === 0) return null;
  const blocks = failed.map((c) => {
    const results = c.gate?.test_results || c.gate?.validation?.test_results || [];
    return el('div', { class: 'failed', 'data-candidate': c.candidate_id },
      el('h3', {}, `✗ ${c.candidate_id}: ${c.passed_tests ?? '?'} of ${c.total_tests ?? '?'} tests passed`),
      c.error_summary ? el('p', { class: 'error' }, c.error_summary) : null,
      results.length ? table(['test', 'result', 'status', 'returned', 'message'], results.map((t) => el('tr', {},
        el('td', {}, t.test_id), el('td', {}, t.passed ? '✓ passed' : '✗ FAILED'), el('td', {}, t.status),
        el('td', { class: 'code' }, t.actual_output ?? '–'), el('td', {}, t.message ?? '')))) : null);
  });
  const measured = measureFailed.map((f) => el('p', { class: 'failed', 'data-candidate': f.candidate_id },
    `✗ ${f.candidate_id} failed while measured: ${f.error_type ?? ''} ${f.error_summary ?? ''}`));
  return section('Failed candidates', ...blocks, ...measured);
}

function candidatesSection(rec) {
  const rows = (rec.candidates || []).map((c) => el('tr', { 'data-candidate': c.candidate_id },
    el('td', {}, c.candidate_id), el('td', {}, badge(c.state)),
    el('td', { class: 'num' }, c.total_tests ? `${c.passed_tests} / ${c.total_tests}` : '–')));
  return section('Candidates', table(['candidate', 'state', 'tests passed'], rows, { id: 'candidates' }));
}

function render(body, rec) {
  const counts = rec.counts || {};
  const method = rec.method || {};
  body.replaceChildren(
    el('section', { class: 'card summary' },
      el('p', {}, 'Status: ', badge(rec.status)),
      facts([['problem', rec.problem_name], ['function', rec.function_name], ['candidates', rec.n_candidates],
        ['reference', rec.reference], ['gate', `${counts.correct ?? 0} correct, ${counts.failed ?? 0} failed, ${counts.queued ?? 0} queued`],
        ['blocks', rec.blocks], ['trials', rec.trials], ['measurement time', quantity(rec.measurement_seconds, 's')],
        ['stopped', method.stop_reason], ['created', rec.created_at], ['updated', rec.updated_at]])),
    rankingSection(rec) ?? '', rec.comparison ? section('Comparison (B / A)', facts([
      ['ratio', num(rec.comparison.ratio)], ['95 % interval', `${num(rec.comparison.ci95_low)} … ${num(rec.comparison.ci95_high)}`],
      ['p', num(rec.comparison.p_value)]])) : '',
    failedSection(rec) ?? '', candidatesSection(rec));
  body.dataset.status = rec.status;
}

export async function renderBatch(view, id, signal) {
  const body = el('div', { id: 'batch', 'data-status': 'loading' }, el('p', {}, 'Loading…'));
  view.append(el('h1', {}, 'Batch ', el('span', { class: 'id' }, id)), body);
  try {
    let last = null;
    await followUntilFinal(`/api/v1/batches/${id}/events`, (_name, rec) => {
      remember('batch', id, { status: rec.status, counts: rec.counts, n: rec.n_candidates, label: rec.problem_name });
      render(body, rec);
      last = rec;
    }, signal);
    // The streamed records are the batch's own; GET merges in the ranking and the gate records.
    if (last && FINAL.has(last.status)) render(body, await getBatch(id));
  } catch (err) {
    if (signal.aborted) return;
    body.replaceChildren(refusal(err, 'batch'));
  }
}
