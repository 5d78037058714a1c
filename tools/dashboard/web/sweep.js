'use strict';
// Sweeps (experiments/sweep): the list of a root's sweeps, and one sweep's trials, best-so-far
// curve, each axis against the objective, and parallel coordinates over the axes and the objective.
// Uses app.js's helpers (el, fill, table, link, api, section) and compare.js's scatter().

/** Objective as text: percent for fractions (accuracy, AUC...), else 4 decimals; +- sd when given. */
function fmtObjective(v, sd, metric) {
  if (!isNum(v)) return DASH;
  const pct = !['ece', 'parasitemia_mae'].includes(metric);
  const f = x => (pct ? `${fix(100 * x, 2)}` : fix(x, 4));
  return `${f(v)}${isNum(sd) ? ' +- ' + f(sd) : ''}${pct ? ' %' : ''}`;
}

async function viewSweeps(p, main, stale) {
  const data = await api('/api/sweeps');
  if (stale()) return;
  const rows = data.sweeps.map(s => [
    link({ view: 'sweep', name: s.name }, s.name),
    s.error ? el('span', { class: 'bad', text: s.error }) : str(s.description),
    str(s.method), str(s.metric), s.error ? DASH : `${s.done} / ${s.trials}`,
    s.best ? fmtObjective(s.best.objective, s.best.objective_sd, s.metric) : DASH,
    s.best ? `trial ${s.best.trial}: ${s.best.assignment.join(' ')}` : DASH,
    s.error ? DASH : (s.finished ? 'finished' : 'in progress')]);
  fill(main, section('Sweeps', { id: 'sweeps' },
    rows.length ? el('div', { class: 'scroll' }, table(['sweep', 'description', 'method', 'objective', 'trials done', 'best', 'best trial', 'state'], rows, { id: 'sweeps-table' }))
      : el('p', { class: 'muted', text: 'No sweep under this root (run_sweep keeps each sweep\'s config in sweeps/<name>.pbtxt).' })));
}

/** Parallel coordinates (SVG): one vertical axis per sweep axis and one for the objective, one line per scored trial. */
function parallelCoordinates(sw) {
  const NS = 'http://www.w3.org/2000/svg', W = 230 * sw.axes.length + 200, H = 300, T = 30, B = 40, L = 100, R = 100;
  const svg = document.createElementNS(NS, 'svg');
  const s = (tag, attrs, text) => { const e = document.createElementNS(NS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); if (text != null) e.textContent = text; return svg.appendChild(e); };
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`); svg.setAttribute('class', 'parallel'); svg.setAttribute('role', 'img');
  svg.style.maxWidth = `${W}px`;  // text at its size: never scaled up
  const scored = sw.trials.filter(t => isNum(t.objective));
  // Each axis maps a trial to [0, 1]: numbers (on a log scale when they span 20x and are positive), else the value's rank.
  const scales = sw.axes.map((name, a) => {
    const nums = sw.trials.map(t => t.numeric[a]);
    if (nums.every(isNum)) {
      const log = nums.every(v => v > 0) && Math.max(...nums) / Math.min(...nums) >= 20, f = v => (log ? Math.log10(v) : v);
      const lo = Math.min(...nums.map(f)), hi = Math.max(...nums.map(f));
      return { name, at: t => (hi > lo ? (f(t.numeric[a]) - lo) / (hi - lo) : 0.5), lo: String(Math.min(...nums)), hi: String(Math.max(...nums)) };
    }
    const cats = [...new Set(sw.trials.map(t => t.values[a]))];
    return { name, at: t => (cats.length > 1 ? cats.indexOf(t.values[a]) / (cats.length - 1) : 0.5), lo: cats[0], hi: cats[cats.length - 1] };
  });
  const objs = scored.map(t => t.objective), olo = Math.min(...objs), ohi = Math.max(...objs);
  scales.push({ name: sw.metric, at: t => (ohi > olo ? (t.objective - olo) / (ohi - olo) : 0.5), lo: fmtObjective(olo, null, sw.metric), hi: fmtObjective(ohi, null, sw.metric) });
  const x = i => L + i * (W - L - R) / Math.max(1, scales.length - 1), y = v => H - B - v * (H - T - B);
  scales.forEach((sc, i) => {
    s('line', { x1: x(i), x2: x(i), y1: y(0), y2: y(1), class: 'pc-axis', stroke: '#888' });
    s('text', { x: x(i), y: T - 12, 'text-anchor': 'middle', class: 'axis' }, sc.name);
    s('text', { x: x(i) + 4, y: y(0) + 14, class: 'tick' }, sc.lo);
    s('text', { x: x(i) + 4, y: y(1) - 4, class: 'tick' }, sc.hi);
  });
  // Better trials drawn darker and on top.
  const rank = t => (ohi > olo ? (t.objective - olo) / (ohi - olo) : 1) * (sw.goal === 'minimize' ? -1 : 1) + (sw.goal === 'minimize' ? 1 : 0);
  [...scored].sort((a, b) => rank(a) - rank(b)).forEach(t => {
    const shade = Math.round(200 - 170 * rank(t));
    s('polyline', { points: scales.map((sc, i) => `${x(i)},${y(sc.at(t))}`).join(' '), fill: 'none', class: t.best ? 'pc-line best' : 'pc-line',
      stroke: t.best ? '#d62728' : `rgb(${shade},${shade},${Math.min(255, shade + 40)})`, 'stroke-width': t.best ? 3 : 1.5, 'data-trial': t.trial });
  });
  return svg;
}

async function viewSweep(p, main, stale) {
  if (!p.name) throw new Error('no sweep named (name=...)');
  const sw = await api('/api/sweep?name=' + encodeURIComponent(p.name));
  if (stale()) return;
  $('#crumb').textContent = `› sweep ${sw.name}`;
  const halving = sw.method === 'successive halving';
  const header = ['trial'].concat(halving ? ['rung'] : [], sw.axes, halving ? ['epochs'] : [], ['folds', `${sw.metric} (mean +- sd)`, 'TFLOP', 'minutes', 'status']);
  const rows = sw.trials.map(t => [t.best ? `${t.trial} ★` : String(t.trial)].concat(halving ? [String(t.rung)] : [], t.values, halving ? [String(t.epochs)] : [], [
    el('span', null, t.folds.map(f => (f.run ? link({ view: 'run', id: f.run }, `f${f.fold}${f.status === 'COMPLETED' ? '' : ' ' + f.status.toLowerCase()}`, { class: 'fold' }) : el('span', { class: 'muted fold', text: `f${f.fold}` })))),
    fmtObjective(t.objective, t.objective_sd, sw.metric), fix(t.tflop, 2), fix(t.minutes, 1), t.status]));
  const pct = !['ece', 'parasitemia_mae'].includes(sw.metric), scale = v => (pct ? 100 * v : v), yName = pct ? `${sw.metric} (%)` : sw.metric;
  const series = sw.best_so_far.map(q => ({ id: `t${q.trial}`, x: q.n, y: scale(q.objective), front: q.new_best }));
  const axisPanels = sw.axes.map((name, a) => {
    const pts = sw.trials.filter(t => isNum(t.objective)).map(t => {
      const cats = [...new Set(sw.trials.map(u => u.values[a]))];
      const numeric = sw.trials.every(u => isNum(u.numeric[a]));
      return { id: `t${t.trial}`, x: numeric ? t.numeric[a] : cats.indexOf(t.values[a]), y: scale(t.objective), err: isNum(t.objective_sd) ? scale(t.objective_sd) : 0 };
    });
    const nums = sw.trials.map(t => t.numeric[a]), logX = nums.every(v => isNum(v) && v > 0) && Math.max(...nums) / Math.min(...nums) >= 20;
    return pts.length ? el('figure', { class: 'axis-panel' }, scatter(pts, name, yName, { logX })) : null;
  });
  fill(main,
    el('h2', { text: `Sweep ${sw.name}` }),
    sw.description ? el('p', { class: 'description', text: sw.description }) : null,
    el('p', { class: 'muted', text: `${sw.method} over ${sw.axes.join(', ')} from ${sw.experiment}; objective: ${sw.goal} the ${sw.metric} (mean over the patient folds)` }),
    el('pre', { id: 'sweep-summary', text: sw.summary }),
    section('Trials', { id: 'trials' }, el('div', { class: 'scroll' }, table(header, rows, { id: 'trials-table' }))),
    section('Best so far', { id: 'best-so-far' },
      el('p', { class: 'muted', text: 'Each scored trial in the order it completed; the dashed line joins the trials that set a new best.' }),
      series.length ? scatter(series, 'trials completed', yName) : el('p', { class: 'muted', text: 'No trial has completed every fold yet.' })),
    section('Each axis against the objective', { id: 'axes' }, el('div', { class: 'pareto-panels' }, axisPanels)),
    section('Parallel coordinates', { id: 'parallel' },
      el('p', { class: 'muted', text: 'One line per scored trial through its value on each axis and its objective; darker is better, red the best.' }),
      sw.trials.some(t => isNum(t.objective)) ? parallelCoordinates(sw) : el('p', { class: 'muted', text: 'No scored trial yet.' })));
}
