// plots.js -- the dashboard's plots: power timelines and energy per trial (uPlot), the ranking as an interval plot (SVG).

import uPlot from './vendor/uPlot.esm.js';
import { el, quantity, svg } from './html.js';

// Series are told apart by dash pattern and point shape as well as colour (read without colour).
const STROKES = ['#1b4f9c', '#b3401a', '#2d7a2d', '#6b3fa0', '#7a6a00'];
const DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3], [4, 4]];

function width(container) {
  return Math.max(280, Math.min(container.clientWidth || 600, 1100));
}

// Keep a plot's width to its container (laptop and phone alike).
function fitWidth(plot, container, signal) {
  const observer = new ResizeObserver(() => plot.setSize({ width: width(container), height: plot.height }));
  observer.observe(container);
  signal?.addEventListener('abort', () => {
    observer.disconnect();
    plot.destroy();
  });
}

// A plot of one trial's power_timeline ([{t, watts: {domain: W}}]): one series per domain.
// The uPlot instance is kept on the container as .uplot (the browser tests read its data).
export function timelinePlot(container, trial, signal) {
  const points = trial.power_timeline || [];
  const domains = [...new Set(points.flatMap((p) => Object.keys(p.watts || {})))];
  const data = [points.map((p) => p.t), ...domains.map((d) => points.map((p) => p.watts?.[d] ?? null))];
  const series = [{ label: 't (s)' }, ...domains.map((d, i) => ({
    label: `${d} (W)`, stroke: STROKES[i % STROKES.length], dash: DASHES[i % DASHES.length], width: 1.5,
    points: { show: false },
  }))];
  const plot = new uPlot({
    title: `Power of trial ${trial.index} (${points.length} points)`,
    width: width(container), height: 240, series,
    scales: { x: { time: false } },
    axes: [{ label: 'seconds since the window began' }, { label: 'watts' }],
  }, data, container);
  container.uplot = plot;
  fitWidth(plot, container, signal);
  return plot;
}

// Energy per run of each trial as points, with the median and its 95 % interval as lines.
export function energyPlot(container, trials, statistics, signal) {
  const x = trials.map((t) => t.index);
  const y = trials.map((t) => t.net_total_joules_per_run ?? null);
  const flat = (v) => x.map(() => (typeof v === 'number' ? v : null));
  const plot = new uPlot({
    title: 'Net energy per run of each trial',
    width: width(container), height: 220,
    scales: { x: { time: false } },
    series: [
      { label: 'trial' },
      { label: 'trial (J/run)', stroke: STROKES[0], width: 0, points: { show: true, size: 9, fill: STROKES[0] } },
      { label: 'median', stroke: STROKES[1], width: 2 },
      { label: '95 % low', stroke: STROKES[2], dash: [6, 4], width: 1 },
      { label: '95 % high', stroke: STROKES[2], dash: [6, 4], width: 1 },
    ],
    axes: [{ label: 'trial index', incrs: [1, 2, 5, 10, 20, 50] }, { label: 'joules per run' }],
  }, [x, y, flat(statistics?.median), flat(statistics?.ci95_low), flat(statistics?.ci95_high)], container);
  container.uplot = plot;
  fitWidth(plot, container, signal);
  return plot;
}

// Tier markers: a shape and a fill per tier, so tiers read without colour.
const SHAPES = ['circle', 'square', 'triangle', 'diamond'];

function marker(shape, hollow, cx, cy) {
  const style = { fill: hollow ? 'white' : 'currentColor', stroke: 'currentColor', 'stroke-width': 2 };
  if (shape === 'circle') return svg('circle', { cx, cy, r: 6, ...style });
  if (shape === 'square') return svg('rect', { x: cx - 5.5, y: cy - 5.5, width: 11, height: 11, ...style });
  if (shape === 'triangle') return svg('polygon', { points: `${cx},${cy - 7} ${cx + 7},${cy + 6} ${cx - 7},${cy + 6}`, ...style });
  return svg('polygon', { points: `${cx},${cy - 7} ${cx + 7},${cy} ${cx},${cy + 7} ${cx - 7},${cy}`, ...style });
}

export function tierMarkerName(tier) {
  const i = (Math.max(1, tier) - 1);
  return `${SHAPES[i % SHAPES.length]}${Math.floor(i / SHAPES.length) % 2 ? ', hollow' : ''}`;
}

// The ranking as an interval plot: one row per candidate in rank order, its median as a marker
// whose shape is its tier, its 95 % interval as a bar, and the tier and values in text.
export function rankingPlot(ranking) {
  const rowHeight = 34;
  const left = 150;
  const right = 280;
  const plotWidth = 520;
  const total = left + plotWidth + right;
  const lows = ranking.map((r) => r.ci95_low ?? r.median_energy_joules);
  const highs = ranking.map((r) => r.ci95_high ?? r.median_energy_joules);
  let lo = Math.min(0, ...lows);
  let hi = Math.max(...highs);
  if (!(hi > lo)) hi = lo + 1;
  const xOf = (v) => left + ((v - lo) / (hi - lo)) * plotWidth;
  const height = ranking.length * rowHeight + 40;
  const rows = ranking.map((r, i) => {
    const y = 20 + i * rowHeight + rowHeight / 2;
    const i0 = Math.max(0, r.tier - 1);
    const text = `tier ${r.tier}: ${quantity(r.median_energy_joules, 'J')} [${quantity(r.ci95_low, 'J')}, ${quantity(r.ci95_high, 'J')}]`;
    return svg('g', { class: 'rank-row', 'data-candidate': r.candidate_id, 'data-tier': r.tier, role: 'listitem' },
      svg('title', {}, `${r.candidate_id}: rank ${r.rank} (${r.rank_low}–${r.rank_high}), ${text}`),
      i % 2 ? svg('rect', { x: 0, y: y - rowHeight / 2, width: total, height: rowHeight, class: 'stripe' }) : null,
      svg('text', { x: 4, y: y + 5, class: 'label' }, `${r.rank}. ${r.candidate_id}`),
      svg('line', { x1: xOf(r.ci95_low ?? r.median_energy_joules), x2: xOf(r.ci95_high ?? r.median_energy_joules), y1: y, y2: y,
        class: `interval tier-${(i0 % 4) + 1}`, 'stroke-width': 3 }),
      svg('line', { x1: xOf(r.ci95_low ?? r.median_energy_joules), x2: xOf(r.ci95_low ?? r.median_energy_joules), y1: y - 7, y2: y + 7, class: 'interval' }),
      svg('line', { x1: xOf(r.ci95_high ?? r.median_energy_joules), x2: xOf(r.ci95_high ?? r.median_energy_joules), y1: y - 7, y2: y + 7, class: 'interval' }),
      svg('g', { class: `marker tier-${(i0 % 4) + 1}` }, marker(SHAPES[i0 % 4], Math.floor(i0 / 4) % 2 === 1, xOf(r.median_energy_joules), y)),
      svg('text', { x: left + plotWidth + 10, y: y + 5, class: 'value' }, text));
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = lo + f * (hi - lo);
    return svg('g', { class: 'tick' },
      svg('line', { x1: xOf(v), x2: xOf(v), y1: 14, y2: height - 22 }),
      svg('text', { x: xOf(v), y: height - 6, 'text-anchor': 'middle' }, quantity(v, 'J')));
  });
  return el('figure', { class: 'ranking-plot' },
    svg('svg', { viewBox: `0 0 ${total} ${height}`, role: 'list', 'aria-label': 'ranking: median energy per run with its 95 % interval' },
      ticks, rows),
    el('figcaption', {}, 'Median net energy per run (marker) and its 95 % interval (bar), in rank order. ',
      'The marker shape names the tier: candidates of one tier cannot be told apart.'));
}
