// Experiment dashboard, the compare view (?view=compare&ids=..): learning curves overlaid, the
// config fields that differ, the study's tables, k-fold folds and pairs, pictures side by side, a
// config field against a metric. Loaded before app.js, whose helpers (el, section, table, api,
// ...) it uses when it runs; app.js's router calls viewCompare.
'use strict';

// ---------- compare view ----------

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

/** Learning curves of `metric` for every run, x = epoch index over all stages or elapsed_seconds. */
function drawCurves(box, metrics, ids, metric, xKey) {
  if (chart) { chart.destroy(); chart = null; }
  fill(box);
  const tables = ids.map(id => {
    const m = metrics[id] || { columns: [], rows: [] }, ci = m.columns.indexOf(metric), xi = m.columns.indexOf(xKey);
    const pts = (ci < 0 ? [] : m.rows.map((row, i) => [xKey === 'epoch' ? i + 1 : toNum(row[xi]), toNum(row[ci])]))
      .filter(([x]) => x != null).sort((a, b) => a[0] - b[0]).filter((pt, i, a) => !i || pt[0] !== a[i - 1][0]);
    return [pts.map(q => q[0]), pts.map(q => q[1])];
  });
  if (!window.uPlot) { box.append(el('p', { class: 'muted', text: 'Chart library not loaded.' })); return; }
  if (!tables.some(t => t[0].length)) { box.append(el('p', { class: 'muted', text: `No "${metric}" values to plot.` })); return; }
  const xLabel = xKey === 'epoch' ? 'epoch (all stages)' : xKey;
  chart = new uPlot({
    width: Math.max(320, box.clientWidth || 900), height: 320,
    scales: { x: { time: false } },
    series: [{ label: xLabel }, ...ids.map((id, i) => ({ label: id, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))],
    axes: [{ label: xLabel, incrs: xKey === 'epoch' ? [1, 2, 5, 10, 20, 50, 100, 200, 500] : undefined }, { label: metric }],
  }, uPlot.join(tables), box);
}
window.addEventListener('resize', () => { if (chart) chart.setSize({ width: Math.max(320, chart.root.parentNode.clientWidth), height: 320 }); });

/**
 * Scatter of labelled points (SVG): a numeric config field (x) against a final metric (y), one per run, or a k-fold
 * experiment's accuracy against its compute. Optional per point: `err` (an error bar of +- err) and `front` (joined,
 * in x order, by a dashed line: the Pareto front). opts.logX puts x on a log axis.
 */
function scatter(points, xName, yName, opts = {}) {
  const NS = 'http://www.w3.org/2000/svg', W = 560, H = 300, L = 60, R = 20, T = 15, B = 40;
  const svg = document.createElementNS(NS, 'svg');
  const s = (tag, attrs, text) => {  // appends an SVG element; text only via textContent
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return svg.appendChild(e);
  };
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`); svg.setAttribute('class', 'scatter'); svg.setAttribute('role', 'img');
  const tx = v => opts.logX ? Math.log10(v) : v;
  const range = vs => {  // padded [min, max]; a single value gets a range around it
    let lo = Math.min(...vs), hi = Math.max(...vs);
    if (lo === hi) { lo -= Math.abs(lo) * 0.1 || 1; hi += Math.abs(hi) * 0.1 || 1; }
    const pad = (hi - lo) * 0.08;
    return [lo - pad, hi + pad];
  };
  const [x0, x1] = range(points.map(q => tx(q.x))), [y0, y1] = range(points.flatMap(q => [q.y - (q.err || 0), q.y + (q.err || 0)]));
  const px = x => L + (tx(x) - x0) / (x1 - x0) * (W - L - R), py = y => H - B - (y - y0) / (y1 - y0) * (H - T - B);
  s('rect', { x: L, y: T, width: W - L - R, height: H - T - B, class: 'frame' });
  const ticks = (lo, hi) => {  // "nice" round tick values (steps of 1, 2 or 5 x 10^k) inside [lo, hi]
    const raw = (hi - lo) / 4, mag = 10 ** Math.floor(Math.log10(raw)), step = [1, 2, 5, 10].find(m => m * mag >= raw) * mag;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(+v.toPrecision(12));
    return out;
  };
  const logTicks = (lo, hi) => {  // 1, 2 and 5 x 10^k inside [10^lo, 10^hi]
    const out = [];
    for (let d = Math.floor(lo); d <= Math.ceil(hi); d++) [1, 2, 5].forEach(m => { const v = +(m * 10 ** d).toPrecision(12); if (Math.log10(v) >= lo && Math.log10(v) <= hi) out.push(v); });
    return out;
  };
  (opts.logX ? logTicks(x0, x1) : ticks(x0, x1)).forEach(v => s('text', { x: px(v), y: H - B + 14, 'text-anchor': 'middle', class: 'tick' }, v));
  ticks(y0, y1).forEach(v => s('text', { x: L - 4, y: py(v) + 4, 'text-anchor': 'end', class: 'tick' }, v));
  s('text', { x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle', class: 'axis' }, xName);
  s('text', { x: 12, y: (T + H - B) / 2, 'text-anchor': 'middle', class: 'axis', transform: `rotate(-90 12 ${(T + H - B) / 2})` }, yName);
  const front = points.filter(q => q.front).sort((a, b) => a.x - b.x);
  if (front.length > 1) s('polyline', { points: front.map(q => `${px(q.x)},${py(q.y)}`).join(' '), class: 'front', fill: 'none', stroke: '#555', 'stroke-dasharray': '4 3' });
  const seen = {};  // runs on the same spot get their labels stacked
  points.forEach((q, i) => {
    const k = `${q.x},${q.y}`, n = seen[k] = (seen[k] || 0) + 1, color = COLORS[i % COLORS.length];
    if (q.err > 0) s('line', { x1: px(q.x), x2: px(q.x), y1: py(q.y - q.err), y2: py(q.y + q.err), stroke: color, class: 'err' });
    s('circle', { cx: px(q.x), cy: py(q.y), r: 4, fill: color });
    const right = px(q.x) > (L + W - R) / 2;  // keep labels inside the plot
    s('text', { x: px(q.x) + (right ? -6 : 6), y: py(q.y) - 6 + (n - 1) * 12, 'text-anchor': right ? 'end' : 'start', class: 'label' }, q.id);
  });
  return svg;
}

/** Accuracy (k-fold mean +- sd, %) of each k-fold experiment against its training TFLOP and minutes per fold model. */
function paretoSection(pareto) {
  if (!pareto.length) return null;
  const panel = (key, frontKey, name) => {
    const pts = pareto.filter(q => isNum(q[key]) && q[key] > 0 && isNum(q.accuracy))
      .map(q => ({ id: q.experiment, x: q[key], y: 100 * q.accuracy, err: isNum(q.accuracy_sd) ? 100 * q.accuracy_sd : 0, front: q[frontKey] }));
    return pts.length ? scatter(pts, name, 'accuracy (%)', { logX: true }) : el('p', { class: 'muted', text: `No experiment records its ${name}.` });
  };
  const rows = pareto.map(q => [q.experiment, str(q.folds), isNum(q.accuracy) ? `${fix(100 * q.accuracy, 2)}${isNum(q.accuracy_sd) ? ' +- ' + fix(100 * q.accuracy_sd, 2) : ''} %` : DASH,
    isNum(q.roc_auc) ? fix(q.roc_auc, 4) : DASH, isNum(q.tflop) ? fix(q.tflop, 1) : DASH, isNum(q.minutes) ? fix(q.minutes, 1) : DASH,
    q.front_tflop ? 'yes' : '', q.front_minutes ? 'yes' : '']);
  return section('Accuracy against compute (k-fold experiments)', { id: 'pareto' },
    el('p', { class: 'muted', text: 'Mean accuracy over the folds (bars: +- sd) against the training TFLOP and the minutes of training per fold model; the dashed line joins the Pareto front (nothing else is as accurate for less).' }),
    el('div', { class: 'pareto-panels' }, panel('tflop', 'front_tflop', 'training TFLOP per model'), panel('minutes', 'front_minutes', 'minutes of training per model')),
    el('div', { class: 'scroll' }, table(['experiment', 'folds', 'accuracy', 'ROC AUC', 'TFLOP', 'minutes', 'front (TFLOP)', 'front (minutes)'], rows)));
}

/** Comparison of several runs: curves, config differences, study tables, k-fold, pictures, scatter. */
// The paired patient bootstrap of two pools of out-of-fold predictions, in points.
function pooledDifference(p) {
  const pts = i => i ? `${(100 * i.estimate).toFixed(2)} (95 % CI ${(100 * i.low).toFixed(2)} to ${(100 * i.high).toFixed(2)})` : '-';
  return `On the pooled out-of-fold predictions, ${str(p.b)} minus ${str(p.a)}, resampling the `
    + `${str(p.pooled.patients)} patients together (points): accuracy ${pts(p.pooled.accuracy)}, `
    + `ROC AUC ${pts(p.pooled.roc_auc)}, sensitivity ${pts(p.pooled.sensitivity)}, specificity ${pts(p.pooled.specificity)}`;
}

async function viewCompare(p, main, stale) {
  const ids = (p.ids || '').split(',').map(s => s.trim()).filter(Boolean);
  if (!ids.length) throw new Error('no run ids in the URL (?view=compare&ids=ID1,ID2)');
  fill(main, el('p', { class: 'muted loading', text: `Loading ${ids.length} runs…` }));
  const d = await api('/api/compare?' + qs({ ids: ids.join(',') }));
  if (stale()) return;
  const runs = d.runs || [], rids = runs.map(r => r.id), metrics = d.metrics || {}, tables = d.tables || {};

  // Curve controls: numeric columns present in any run's metrics.
  const cols = [...new Set(rids.flatMap(id => (metrics[id] && metrics[id].columns) || []))];
  const numeric = cols.filter(c => c !== 'epoch' && rids.some(id => {
    const m = metrics[id], i = m ? m.columns.indexOf(c) : -1;
    return i >= 0 && m.rows.some(r => isNum(toNum(r[i])));
  }));
  const metric = numeric.includes(p.metric) ? p.metric : numeric.includes('accuracy') ? 'accuracy' : numeric[0];
  const xs = ['epoch', ...(cols.includes('elapsed_seconds') ? ['elapsed_seconds'] : [])];
  const x = xs.includes(p.x) ? p.x : 'epoch';
  const chartBox = el('div', { id: 'chart', class: 'chart' });
  const mSel = el('select', { id: 'metric', onchange: redraw }, numeric.map(c => el('option', { value: c, text: c, selected: c === metric })));
  const xSel = el('select', { id: 'xaxis', onchange: redraw },
    xs.map(c => el('option', { value: c, selected: c === x, text: c === 'epoch' ? 'epoch (all stages)' : c })));
  function redraw() { patchUrl({ metric: mSel.value, x: xSel.value }); drawCurves(chartBox, metrics, rids, mSel.value, xSel.value); }

  // Pictures side by side: one row per picture name, one column per run.
  const pics = d.pictures || {};
  const names = [...new Set(rids.flatMap(id => (pics[id] || []).map(q => q.name)))];
  const picTable = names.length ? table(['picture', ...rids], names.map(n => [n, ...rids.map(id => {
    const pic = (pics[id] || []).find(q => q.name === n);
    return pic ? el('a', { href: pic.url, target: '_blank' }, el('img', { src: pic.url, alt: `${id} ${n}` })) : DASH;
  })]), { class: 'data pics' }) : el('p', { class: 'muted', text: 'No pictures.' });

  // Scatter: numeric config field vs final metric.
  const nc = d.numeric_config || { fields: [], values: {} }, fm = d.final_metrics || {};
  const fields = nc.fields || [], finals = [...new Set(rids.flatMap(id => Object.keys(fm[id] || {})))];
  const scatterBox = el('div', { id: 'scatter' });
  const sxSel = el('select', { id: 'sx', onchange: drawScatter }, fields.map(f => el('option', { value: f, text: f, selected: f === p.sx })));
  const sySel = el('select', { id: 'sy', onchange: drawScatter }, finals.map(f => el('option', { value: f, text: f, selected: f === (p.sy || 'accuracy') })));
  function drawScatter(ev) {
    if (ev) patchUrl({ sx: sxSel.value, sy: sySel.value });
    const pts = rids.map(id => ({ id, x: toNum(((nc.values || {})[id] || {})[sxSel.value]), y: toNum((fm[id] || {})[sySel.value]) }))
      .filter(q => q.x != null && q.y != null);
    fill(scatterBox, pts.length ? scatter(pts, sxSel.value, sySel.value) : el('p', { class: 'muted', text: 'No runs have both values.' }));
  }

  const study = ['accuracy', 'time', 'final', 'reached', 'runs'].filter(k => tables[k]).map(k => section(tables[k].title || k, { class: 'study', dataset: { table: k } },
    (tables[k].rows || []).length ? el('div', { class: 'scroll' }, table(tables[k].header || [], tables[k].rows)) : el('p', { class: 'muted', text: 'No rows.' })));
  const cfg = tables.config;
  fill(main,
    el('h2', { text: `Comparing ${runs.length} runs` }),
    el('ul', { class: 'runlist' }, runs.map((r, i) => el('li', null, swatch(COLORS[i % COLORS.length]),
      link({ view: 'run', id: r.id }, r.id, { class: 'runlink' }), ' ', statusCell(r), r.description ? el('small', { class: 'muted', text: ' ' + r.description }) : null))),
    (d.missing || []).length ? section('Missing runs', { class: 'problems', id: 'missing' }, el('ul', null, d.missing.map(m => el('li', { text: m })))) : null,
    section('Learning curves', { id: 'curves' }, numeric.length
      ? [el('div', { class: 'toolbar' }, el('label', null, 'metric ', mSel), el('label', null, 'x axis ', xSel)), chartBox]
      : el('p', { class: 'muted', text: 'No per-epoch metrics.' })),
    section('Config differences', { id: 'config-diff' }, !cfg ? el('p', { class: 'muted', text: 'Not available.' })
      : (cfg.rows || []).length ? el('div', { class: 'scroll' }, table(cfg.header || [], cfg.rows)) : el('p', { class: 'identical', text: 'Configs are identical.' })),
    study,
    (d.kfold || []).map(k => section(`k-fold: ${str(k.experiment)} (${str(k.folds)} folds`
      + `${(k.missing || []).length ? ', missing folds ' + k.missing.join(', ') : ''})`, { class: 'kfold' },
      k.pooled ? el('p', { class: 'pooled', text: str(k.pooled) }) : null,
      el('div', { class: 'scroll' }, table(k.header || [], k.rows || [])))),
    (d.paired || []).map(p => section(`Paired by fold: ${str(p.b)} against ${str(p.a)}`, { class: 'paired' },
      (p.folds || []).length
        ? [el('p', { class: 'muted', text: `Folds ${p.folds.join(', ')}: the same validation cells in both; difference = ${str(p.b)} minus ${str(p.a)}.` }),
          el('div', { class: 'scroll' }, table(p.header || [], p.rows || []))]
        : el('p', { class: 'muted', text: 'No fold has the same validation cells in both.' }),
      (p.unpaired || []).length ? el('ul', null, p.unpaired.map(u => el('li', { text: 'not paired: ' + u }))) : null,
      p.pooled ? el('p', { class: 'pooled', text: pooledDifference(p) }) : null)),
    paretoSection(d.pareto || []),
    section('Pictures side by side', { id: 'pictures' }, el('div', { class: 'scroll' }, picTable)),
    section('Config field vs final metric', { id: 'scatter-section' }, fields.length && finals.length
      ? [el('div', { class: 'toolbar' }, el('label', null, 'x ', sxSel), el('label', null, 'y ', sySel)), scatterBox]
      : el('p', { class: 'muted', text: 'No numeric config fields or final metrics.' })));
  if (numeric.length) drawCurves(chartBox, metrics, rids, metric, x);
  if (fields.length && finals.length) drawScatter();
}
