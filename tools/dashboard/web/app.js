// Experiment dashboard: single-page app over the dashboard server's JSON API.
// Views: runs list (?view=runs), one run (?view=run&id=..), comparison (?view=compare&ids=..).
// The URL query carries the view and its filters, so every view can be shared as a link.
// Security: data from the API is only ever inserted as text (textContent / createElement),
// never as HTML, and only same-origin paths are used as link or image targets.
'use strict';

// ---------- small DOM and formatting helpers ----------

/** Creates an element. attrs: class, text, on<event>, dataset, or plain attributes. */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'href' || k === 'src') e.setAttribute(k, safeUrl(v));
    else e.setAttribute(k, v === true ? '' : v);
  }
  return children.length ? fill(e, ...children) : e;
}
/** Appends children (nested arrays flattened, null skipped, strings as text) after removing old ones. */
function fill(e, ...children) {
  e.replaceChildren(...children.flat(Infinity).filter(c => c != null).map(c => (c instanceof Node ? c : String(c))));
  return e;
}
/** Only same-origin absolute paths or query links are allowed as href/src. */
const safeUrl = u => (typeof u === 'string' && /^\/(?!\/)|^\?/.test(u) ? u : '#');
const $ = (sel, root = document) => root.querySelector(sel);
const DASH = '—';
const isNum = v => typeof v === 'number' && Number.isFinite(v);
const toNum = v => (v == null || v === '' ? null : (Number.isFinite(+v) ? +v : null));
const fix = (v, d) => (isNum(v) ? v.toFixed(d) : DASH);
const str = v => (v == null || v === '' ? DASH : String(v));
function fmtCell(v) {  // metrics cells: trim long floats, keep ints and text
  if (!isNum(v)) return str(v);
  return Number.isInteger(v) ? String(v) : String(+v.toPrecision(5));
}
function fmtDuration(s) {
  if (!isNum(s)) return DASH;
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  return h ? `${h}h ${String(m).padStart(2, '0')}m` : m ? `${m}m ${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
function fmtBytes(b) {
  if (!isNum(b)) return '';
  const u = ['B', 'KB', 'MB', 'GB']; let i = 0;
  while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
  return `${b.toFixed(i ? 1 : 0)} ${u[i]}`;
}
const fmtTime = t => (t ? String(t).replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC') : DASH);

/** Generic table from a header and rows of strings/numbers/nodes. */
function table(header, rows, attrs) {
  return el('table', Object.assign({ class: 'data' }, attrs),
    el('thead', null, el('tr', null, header.map(h => el('th', { text: str(h) })))),
    el('tbody', null, rows.map(r => el('tr', null, r.map(c => el('td', null, c instanceof Node ? c : fmtCell(c)))))));
}
const swatch = color => { const s = el('span', { class: 'swatch' }); s.style.background = color; return s; };
const section = (title, attrs, ...body) => el('section', attrs, el('h3', { text: title }), body);

// ---------- URL state, API access, error banner ----------

/** Builds a query string; keeps '/' and ',' readable (both are legal in a query). */
function qs(params) {
  return Object.entries(params).filter(([, v]) => v != null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replace(/%2F/gi, '/').replace(/%2C/gi, ',')}`).join('&');
}
const currentParams = () => Object.fromEntries(new URLSearchParams(location.search));
/** Link to another view; plain clicks navigate without reloading the page. */
function link(params, text, attrs) {
  return el('a', Object.assign({ href: '/?' + qs(params), text, onclick: e => {
    if (e.button || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault(); navigate(params);
  } }, attrs));
}
function navigate(params) { history.pushState(null, '', '/?' + qs(params)); route(); }
/** Updates the URL of the current view (filters, chart choices) without a history entry. */
function patchUrl(changes) { history.replaceState(null, '', '/?' + qs(Object.assign(currentParams(), changes))); }

async function api(path) {
  let res;
  try { res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' }); } catch (e) {
    throw new Error(`${path}: server unreachable (${e.message})`);
  }
  let body = null;
  try { body = await res.json(); } catch (e) { if (res.ok) throw new Error(`${path}: invalid JSON`); }
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}${body && body.error ? ' — ' + body.error : ''}`);
  return body;
}
function showError(msg) { const b = $('#error'); b.textContent = msg; b.hidden = false; }
function clearError() { $('#error').hidden = true; }

// ---------- router ----------

let routeSeq = 0;          // bumps on every navigation; stale async renders check it and stop
let refreshTimer = null;   // runs-list auto refresh
let chart = null;          // the live uPlot instance (compare view)

async function route() {
  const p = currentParams(), seq = ++routeSeq;
  clearInterval(refreshTimer); refreshTimer = null;
  if (chart) { chart.destroy(); chart = null; }
  clearError();
  const view = p.view || 'runs';
  const views = { runs: viewRuns, run: viewRun, compare: viewCompare, sweeps: viewSweeps, sweep: viewSweep };
  $('#crumb').textContent = view === 'run' ? `› run ${p.id || ''}` : view === 'compare' ? '› compare' : view === 'sweeps' ? '› sweeps' : '';
  document.title = `${view} · Experiment dashboard`;
  const main = $('#main');
  try {
    if (!views[view]) throw new Error(`unknown view "${view}"`);
    await views[view](p, main, () => seq !== routeSeq);
  } catch (e) {
    if (seq !== routeSeq) return;
    showError(e.message);
    if (!main.firstChild || main.querySelector('.muted.loading')) {
      fill(main, el('p', { class: 'muted' }, 'Nothing to show. ', link({ view: 'runs' }, 'Back to the runs list.')));
    }
  }
}
window.addEventListener('popstate', route);

// ---------- runs list view ----------

const FILTERS = ['experiment', 'status', 'user', 'dataset'];
// Rows drawn per page: a root of thousands of runs stays quick to draw and to refresh.
const PAGE_SIZE = 200;
const runsState = { data: null, selected: new Set(), busy: false, again: false, refreshes: 0 };

/** Seconds the run needed to reach the accuracy threshold t, or null. */
function timeTo(run, t) {
  const hit = (run.time_to_accuracy || []).find(x => x && Math.abs(x.threshold - t) < 1e-9);
  return hit && isNum(hit.seconds) ? hit.seconds : null;
}
/** "12 s ago", "5 min ago", "3.2 h ago". */
const ago = s => (s < 120 ? `${Math.round(s)} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${(s / 3600).toFixed(1)} h ago`);
/** Status badge; RUNNING gets a progress bar, reason goes in the tooltip. */
function statusCell(run) {
  const s = run.status || 'UNKNOWN';
  const out = [el('span', { class: `badge st-${s}`, title: run.reason || null, text: s })];
  const pr = run.progress;
  if (s === 'RUNNING' && pr) {
    out.push(el('span', { class: 'progress' },
      el('progress', { max: pr.epochs_total || 1, value: pr.epochs_done || 0 }),
      ` ${str(pr.epochs_done)}/${str(pr.epochs_total)}${pr.stage ? ' ' + pr.stage : ''}`,
      isNum(pr.seconds_since_update) ? el('small', { text: ` · ${ago(pr.seconds_since_update)}` }) : null,
      pr.stale ? el('small', { class: 'stale', text: ' · no update for a long time: its process may be gone' }) : null));
  } else if (run.reason) out.push(el('small', { class: 'reason', text: run.reason }));
  return out;
}
/** Column definitions: key (sort key in URL), label, value (for sorting), cell (rendering). */
function runColumns(thresholds) {
  const num = (key, label, d) => ({ key, label, value: r => r[key], cell: r => fix(r[key], d), cls: 'num' });
  return [
    { key: 'experiment', label: 'experiment' },
    { key: 'run_id', label: 'run', cell: r => link({ view: 'run', id: r.id }, r.run_id || r.id, { class: 'runlink' }) },
    { key: 'status', label: 'status', cell: statusCell },
    { key: 'user', label: 'user' }, { key: 'host', label: 'host' },
    { key: 'git_commit', label: 'commit', cell: r => el('code', {
      text: str(r.git_commit) + (r.git_dirty ? '*' : ''), title: r.git_dirty ? 'uncommitted changes' : null }) },
    { key: 'dataset', label: 'dataset', value: r => `${r.dataset || ''} ${r.fingerprint || ''}`,
      cell: r => [str(r.dataset), r.fingerprint ? el('small', { class: 'muted', text: ' ' + r.fingerprint }) : null] },
    { key: 'split', label: 'split' }, { key: 'model', label: 'model' },
    num('best_accuracy', 'best acc', 4), num('final_accuracy', 'final acc', 4), num('roc_auc', 'ROC AUC', 4),
    num('seconds_per_epoch', 's/epoch', 1), num('training_tflop', 'TFLOP', 1),
    ...(thresholds || []).map(t => ({ key: `tta${t}`, label: `min→${t}`, title: `minutes to reach accuracy ${t}`, cls: 'num',
      value: r => timeTo(r, t), cell: r => { const s = timeTo(r, t); return s == null ? DASH : (s / 60).toFixed(1); } })),
    { key: 'start_time', label: 'started', cell: r => fmtTime(r.start_time) },
    { key: 'description', label: 'description', cls: 'desc', cell: r => el('span', { title: r.description || null, text: r.description || '' }) },
  ];
}
function compareValues(a, b) {
  if (a == null || a === '') return b == null || b === '' ? 0 : 1;  // empties last
  if (b == null || b === '') return -1;
  return typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** Runs list: filters (URL), sortable table, selection + compare, 5 s auto refresh. */
async function viewRuns(p, main, stale) {
  const selects = Object.fromEntries(FILTERS.map(f => [f, el('select', { id: `f-${f}`, 'aria-label': f,
    onchange: e => { patchUrl({ [f]: e.target.value, page: '' }); renderRows(); } })]));
  let debounce = null;
  const search = el('input', { id: 'q', type: 'search', placeholder: 'search config, description, ids…', value: p.q || '', oninput: () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { if (stale()) return; patchUrl({ q: search.value.trim(), page: '' }); load(); }, 300);
  } });
  const count = el('span', { id: 'count', class: 'muted' });
  const compareBtn = el('button', { id: 'compare', type: 'button', disabled: true, onclick: () => {
    const ids = selectedIds(); if (ids.length >= 2) navigate({ view: 'compare', ids: ids.join(',') });
  } });
  const clearBtn = el('button', { type: 'button', class: 'link', text: 'clear selection', onclick: () => { runsState.selected.clear(); renderRows(); } });
  const thead = el('thead'), tbody = el('tbody'), pager = el('div', { id: 'pager', class: 'pager' });
  fill(main,
    el('div', { class: 'toolbar' }, FILTERS.map(f => el('label', null, f, ' ', selects[f])), search, compareBtn, clearBtn, count),
    el('div', { class: 'scroll' }, el('table', { class: 'data runs', id: 'runs' }, thead, tbody)), pager);
  main.prepend(el('p', { class: 'muted loading', text: 'Loading runs…' }));

  const selectedIds = () => (runsState.data ? runsState.data.runs.map(r => r.id).filter(id => runsState.selected.has(id)) : []);

  // Fills a filter select with the values present in the data, keeping the URL's choice.
  function fillSelect(f, runs, chosen) {
    const values = [...new Set(runs.map(r => r[f]).filter(v => v != null && v !== ''))].map(String).sort();
    if (chosen && !values.includes(chosen)) values.push(chosen);
    const key = values.join('\n');
    if (selects[f].dataset.key !== key) {
      fill(selects[f], el('option', { value: '', text: 'all' }), values.map(v => el('option', { value: v, text: v })));
      selects[f].dataset.key = key;
    }
    selects[f].value = chosen || '';
  }

  // Renders header + rows from runsState.data and the filters/sort currently in the URL.
  function renderRows() {
    const d = runsState.data; if (!d) return;
    const q = currentParams(), cols = runColumns(d.thresholds);
    FILTERS.forEach(f => fillSelect(f, d.runs, q[f]));
    const sortCol = cols.find(c => c.key === q.sort), desc = q.desc === '1';
    fill(thead, el('tr', null, el('th', { class: 'sel' }),
      cols.map(c => el('th', { class: `sortable ${c.cls || ''}`, title: c.title || `sort by ${c.label}`, dataset: { key: c.key },
        'aria-sort': c === sortCol ? (desc ? 'descending' : 'ascending') : null,
        onclick: () => { patchUrl({ sort: c.key, desc: c === sortCol && !desc ? '1' : '' }); renderRows(); } },
      c.label, c === sortCol ? (desc ? ' ▼' : ' ▲') : ''))));
    let runs = d.runs.filter(r => FILTERS.every(f => !q[f] || String(r[f]) === q[f]));
    if (sortCol) {
      const val = sortCol.value || (r => r[sortCol.key]);
      runs = runs.map((r, i) => [r, i]).sort(([a, i], [b, j]) => {
        const va = val(a), vb = val(b), empty = v => v == null || v === '';
        if (empty(va) || empty(vb)) return compareValues(va, vb) || i - j;
        return (desc ? -1 : 1) * compareValues(va, vb) || i - j;
      }).map(([r]) => r);
    }
    const pages = Math.max(1, Math.ceil(runs.length / PAGE_SIZE));
    const page = Math.min(pages, Math.max(1, Math.floor(Number(q.page)) || 1));
    const matching = runs.length;
    runs = runs.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
    const go = n => () => { patchUrl({ page: n > 1 ? String(n) : '' }); renderRows(); };
    fill(pager, pages < 2 ? [] : [
      el('button', { type: 'button', class: 'link', id: 'prev-page', disabled: page <= 1, text: '« previous', onclick: go(page - 1) }),
      el('span', { class: 'muted', text: ` page ${page} of ${pages} ` }),
      el('button', { type: 'button', class: 'link', id: 'next-page', disabled: page >= pages, text: 'next »', onclick: go(page + 1) })]);
    fill(tbody, ...runs.map(r => el('tr', { class: `st-row-${r.status}`, dataset: { id: r.id } },
      el('td', { class: 'sel' }, el('input', { type: 'checkbox', class: 'sel', 'aria-label': `select ${r.id}`, dataset: { id: r.id },
        checked: runsState.selected.has(r.id), onchange: e => { runsState.selected[e.target.checked ? 'add' : 'delete'](r.id); updateSelection(); } })),
      cols.map(c => el('td', { class: c.cls || null }, c.cell ? c.cell(r) : str(r[c.key]))))));
    if (!runs.length) tbody.append(el('tr', null, el('td', { colspan: cols.length + 1, class: 'muted', text: 'No runs match.' })));
    const range = pages > 1 ? `, ${(page - 1) * PAGE_SIZE + 1}–${(page - 1) * PAGE_SIZE + runs.length} on this page` : '';
    count.textContent = `${d.runs.length} runs (${matching} shown${range}) · server ${fix(d.elapsed_ms, 1)} ms · updated ${new Date().toLocaleTimeString()}`;
    updateSelection();
  }
  function updateSelection() {
    const n = selectedIds().length;
    compareBtn.disabled = n < 2;
    compareBtn.textContent = `Compare selected (${n})`;
  }
  // Fetches the runs (server-side search q) and re-renders; errors keep the old table.
  async function load() {
    if (runsState.busy) { runsState.again = true; return; }  // run once more when the current fetch ends
    runsState.busy = true; runsState.again = false;
    try {
      const q = currentParams().q;
      const d = await api('/api/runs' + (q ? '?' + qs({ q }) : ''));
      if (stale()) return;
      runsState.data = d;
      $('#serverinfo').textContent = `${str(d.host)}:${str(d.root)} · ${fmtTime(d.now)}`;
      main.querySelector('.loading')?.remove();
      clearError(); renderRows();
      document.body.dataset.refreshes = String(++runsState.refreshes);
    } catch (e) { if (!stale()) showError(e.message); } finally { runsState.busy = false; }
    if (runsState.again && !stale()) load();
  }
  runsState.data = null;
  await load();
  if (!stale()) refreshTimer = setInterval(() => { if (!document.hidden) load(); }, 5000);
}

// ---------- single run view ----------

/** Key/value summary of a run (shared by run view). */
function runSummary(r) {
  const pr = r.progress;
  const items = [
    ['status', statusCell(r)], ['experiment', str(r.experiment)], ['run', str(r.run_id)],
    ['progress', pr ? `${str(pr.stage)} ${str(pr.epochs_done)}/${str(pr.epochs_total)} epochs, updated ${fix(pr.seconds_since_update, 0)} s ago` : null],
    ['user@host', `${str(r.user)}@${str(r.host)}`], ['commit', str(r.git_commit) + (r.git_dirty ? ' (dirty)' : '')],
    ['started', fmtTime(r.start_time)], ['duration', fmtDuration(r.duration_seconds)],
    ['dataset', `${str(r.dataset)} ${r.fingerprint || ''}`], ['split', str(r.split)], ['model', str(r.model)],
    ['k-fold', r.kfold ? `fold ${r.kfold.fold} of ${r.kfold.folds}` : null],
    ['best / final acc', `${fix(r.best_accuracy, 4)} / ${fix(r.final_accuracy, 4)}`], ['ROC AUC', fix(r.roc_auc, 4)],
    ['s/epoch', fix(r.seconds_per_epoch, 1)],
    ['compute', isNum(r.training_tflop) ? `${fix(r.training_tflop, 1)} TFLOP training, ${fix(r.forward_gflop, 3)} GFLOP per image forward` : null],
    ['time to acc', (r.time_to_accuracy || []).map(t => `${t.threshold}: ${fmtDuration(t.seconds)}` +
      (isNum(t.tflop) ? `, ${fix(t.tflop, 1)} TFLOP` : '')).join(', ') || DASH],
  ].filter(([, v]) => v != null);
  return el('dl', { class: 'summary' }, items.map(([k, v]) => [el('dt', { text: k }), el('dd', null, v)]));
}
/** Grid of pictures with their names; each links to the full-size file. */
function pictureGrid(pics, attrs) {
  if (!pics || !pics.length) return el('p', { class: 'muted', text: 'No pictures.' });
  return el('div', Object.assign({ class: 'grid' }, attrs), pics.map(pic => el('figure', null,
    el('a', { href: pic.url, target: '_blank' }, el('img', { src: pic.url, alt: pic.name })), el('figcaption', { text: pic.name }))));
}
function fileList(files) {
  if (!files || !files.length) return el('p', { class: 'muted', text: 'No files.' });
  return el('ul', { class: 'files' }, files.map(f => el('li', null,
    el('a', { href: f.url, download: (f.name || '').split('/').pop() || true, text: f.name }), ' ', el('small', { class: 'muted', text: fmtBytes(f.bytes) }))));
}
const metricsTable = (m, attrs) => (m && m.columns && m.columns.length && m.rows && m.rows.length
  ? el('div', { class: 'scroll' }, table(m.columns, m.rows, attrs)) : el('p', { class: 'muted', text: 'No per-epoch metrics.' }));

/** One run: summary, description, problems, config, run info, metrics, pictures, evaluations, files. */
async function viewRun(p, main, stale) {
  if (!p.id) throw new Error('no run id in the URL (?view=run&id=EXPERIMENT/RUN)');
  fill(main, el('p', { class: 'muted loading', text: `Loading ${p.id}…` }));
  const d = await api('/api/run?' + qs({ id: p.id }));
  if (stale()) return;
  const r = d.run || {};
  fill(main,
    el('h2', null, str(r.id || p.id), ' ', link({ view: 'runs', experiment: r.experiment }, `all ${str(r.experiment)} runs`, { class: 'small' })),
    r.description ? el('p', { class: 'description', text: r.description }) : null,
    (d.problems || []).length ? section('Problems', { class: 'problems' }, el('ul', null, d.problems.map(x => el('li', { text: x })))) : null,
    runSummary(r),
    el('div', { class: 'two' },
      section('Config', null, el('pre', { id: 'config-text', text: d.config_text || '(none)' })),
      section('Run info', null, el('pre', { id: 'run-info-text', text: d.run_info_text || '(none)' }))),
    section('Per-epoch metrics', null, metricsTable(d.metrics, { id: 'metrics-table' })),
    section('Pictures', null, pictureGrid(d.pictures, { id: 'run-pictures' })),
    section('Evaluations', { id: 'evaluations' }, (d.evaluations || []).length ? d.evaluations.map(ev => el('div', { class: 'evaluation' },
      el('h4', { text: ev.name }), ev.metrics_text ? el('pre', { text: ev.metrics_text }) : null,
      ev.pictures && ev.pictures.length ? pictureGrid(ev.pictures) : null, ev.files && ev.files.length ? fileList(ev.files) : null))
      : el('p', { class: 'muted', text: 'No evaluations.' })),
    section('Files', { id: 'files' }, fileList(d.files)));
}

route();
