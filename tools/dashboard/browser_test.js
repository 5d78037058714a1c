#!/usr/bin/env node
// End-to-end browser test of the experiment dashboard (tools/dashboard/web) against a running server.
//
//   NODE_PATH=third_party/npm/node_modules node tools/dashboard/browser_test.js BASE_URL SCREENSHOT_DIR
//
// Uses puppeteer-core with the system Chromium (/usr/bin/chromium, or $CHROMIUM), headless.
// Fixture runs are discovered through the JSON API: the two runs to compare are the first pair with
// differing config and pictures in both (override with COMPARE_IDS=ID1,ID2), and one run must have a
// description starting with <script>window.__pwned=1</script>. Exits 1 with a message on the first
// failed check, or on any console error, page error or failed request (HTTP >= 400) that the test
// did not provoke itself.
'use strict';
const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const [BASE_ARG, SHOT_DIR] = process.argv.slice(2);
if (!BASE_ARG || !SHOT_DIR) {
  console.error('usage: node dashboard_browser_test.js BASE_URL SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = BASE_ARG.replace(/\/+$/, '');
const XSS = '<script>window.__pwned=1</script>';  // the hostile description starts with this
const BAD_ID = 'no_such_experiment/no_such_run';
const started = Date.now();

class CheckFailed extends Error {}
function check(cond, msg) { if (!cond) throw new CheckFailed(msg); }
/** Awaits a puppeteer wait; a timeout becomes a failed check saying what never appeared. */
const must = (what, promise) => promise.catch(e => { throw new CheckFailed(`${what} (${e.message})`); });
const log = msg => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);

async function getJson(p) {
  const res = await fetch(BASE + p);
  check(res.ok, `GET ${p}: HTTP ${res.status}`);
  return res.json();
}

/** Picks the fixture runs through the API. */
async function discover() {
  const { runs } = await getJson('/api/runs');
  check(Array.isArray(runs) && runs.length >= 3, `expected at least 3 runs from /api/runs, got ${runs && runs.length}`);
  const xss = runs.find(r => (r.description || '').startsWith(XSS));
  check(xss, `no run has a description starting with ${XSS} (needed for the escaping check)`);
  let pair = process.env.COMPARE_IDS ? process.env.COMPARE_IDS.split(',') : null;
  if (!pair) {
    const cands = runs.filter(r => r.id !== xss.id && r.status !== 'UNREADABLE').slice(0, 6);
    outer: for (let i = 0; i < cands.length; i++) {
      for (let j = i + 1; j < cands.length; j++) {
        const ids = [cands[i].id, cands[j].id];
        const c = await getJson('/api/compare?ids=' + ids.map(encodeURIComponent).join(','));
        const pics = c.pictures || {};
        if ((c.tables && c.tables.config && c.tables.config.rows || []).length && ids.every(id => (pics[id] || []).length)) { pair = ids; break outer; }
      }
    }
    check(pair, 'no pair among the first runs has differing config and pictures in both (set COMPARE_IDS)');
  }
  return { runs, xss, pair };
}

async function main() {
  fs.mkdirSync(SHOT_DIR, { recursive: true });
  const { runs, xss, pair } = await discover();
  log(`${runs.length} runs; comparing ${pair.join(' vs ')}; escaping check on ${xss.id}`);

  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1400,900'],
    defaultViewport: { width: 1400, height: 900 },
  });
  const problems = [];
  let expectBad = null;  // substring of the URL we deliberately request and expect to fail
  const expected = url => expectBad && url && url.includes(expectBad);
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(10000);
    page.on('console', m => {
      const where = (m.location() || {}).url || '';
      if (m.type() === 'error' && !expected(where)) problems.push(`console error: ${m.text()} (${where})`);
    });
    page.on('pageerror', e => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', r => { if (!expected(r.url())) problems.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`); });
    page.on('response', r => { if (r.status() >= 400 && !expected(r.url())) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    const noProblems = where => check(!problems.length, `${where}:\n  ${problems.join('\n  ')}`);
    const rowCount = () => page.$$eval('#runs tbody tr[data-id]', trs => trs.length);
    const query = () => new URL(page.url()).searchParams;
    const waitRows = () => must('runs table has no rows', page.waitForSelector('#runs tbody tr[data-id]'));
    const allImagesLoaded = sel => must(`no pictures (${sel}) finished loading`, page.waitForFunction(s => {
      const imgs = [...document.querySelectorAll(s)];
      return imgs.length > 0 && imgs.every(i => i.complete) ? imgs.map(i => i.naturalWidth) : false;
    }, {}, sel)).then(h => h.jsonValue());

    // 1. Runs list shows every run; the hostile description is text, not script.
    await page.goto(BASE + '/', { waitUntil: 'domcontentloaded' });
    await waitRows();
    check(await rowCount() === runs.length, `runs list shows ${await rowCount()} rows, API has ${runs.length} runs`);
    const countText = await page.$eval('#count', e => e.textContent);
    check(countText.includes(`${runs.length} runs (${runs.length} shown)`), `count line "${countText}"`);
    check(await page.evaluate(x => document.body.innerText.includes(x), xss.description), 'runs list does not show the <script> description as text');
    check(await page.evaluate(() => window.__pwned === undefined), 'window.__pwned was set on the runs list (XSS)');
    await page.screenshot({ path: path.join(SHOT_DIR, 'runs.png') });
    log('runs list ok');

    // 2. Filters: experiment select + search text shrink the list and go into the URL; reload restores them.
    const target = runs.find(r => r.id === pair[0]);
    await page.select('#f-experiment', target.experiment);
    const searched = page.waitForResponse(r => r.url().endsWith('/api/runs?q=' + encodeURIComponent(target.run_id)));
    await page.type('#q', target.run_id);
    await must('no /api/runs?q= request after typing in the search box', searched);
    await must('URL lacks the search text', page.waitForFunction(rid => new URL(location.href).searchParams.get('q') === rid, {}, target.run_id));
    const want = (await getJson('/api/runs?q=' + encodeURIComponent(target.run_id))).runs.filter(r => r.experiment === target.experiment);
    check(want.some(r => r.id === target.id), `server search for "${target.run_id}" does not find ${target.id}`);
    await page.waitForFunction(ids => {
      const rows = [...document.querySelectorAll('#runs tbody tr[data-id]')].map(r => r.dataset.id);
      return rows.length === ids.length && ids.every(i => rows.includes(i));
    }, {}, want.map(r => r.id)).catch(() => { throw new CheckFailed(`filtered list does not show exactly ${want.map(r => r.id)}`); });
    const filtered = await rowCount();
    check(filtered >= 1 && filtered < runs.length, `filtering kept ${filtered} of ${runs.length} rows`);
    check(query().get('experiment') === target.experiment, `URL lacks experiment filter: ${page.url()}`);
    await page.click('th[data-key="best_accuracy"]');
    check(query().get('sort') === 'best_accuracy', `URL lacks sort after clicking a header: ${page.url()}`);
    const filteredUrl = page.url();
    await page.reload({ waitUntil: 'domcontentloaded' });
    await waitRows();
    check(page.url() === filteredUrl, 'reload changed the URL');
    check(await page.$eval('#q', e => e.value) === target.run_id, 'search text not restored after reload');
    check(await page.$eval('#f-experiment', e => e.value) === target.experiment, 'experiment filter not restored after reload');
    check(await rowCount() === filtered, `after reload ${await rowCount()} rows, before ${filtered}`);
    check(await page.$eval('th[data-key="best_accuracy"]', e => e.getAttribute('aria-sort')) === 'ascending', 'sort not restored');
    log(`filters ok (${filtered} of ${runs.length} rows)`);

    // 3. Select two runs; the selection survives an auto refresh; Compare opens the compare view.
    await page.goto(BASE + '/?view=runs', { waitUntil: 'domcontentloaded' });
    await waitRows();
    for (const id of pair) {
      const box = await page.evaluateHandle(i => [...document.querySelectorAll('input.sel')].find(c => c.dataset.id === i), id);
      check(box.asElement(), `no checkbox for ${id}`);
      await box.asElement().click();
    }
    check(await page.$eval('#compare', b => !b.disabled), 'Compare button still disabled with 2 runs selected');
    const refreshes = await page.evaluate(() => +document.body.dataset.refreshes);
    await must('runs list did not auto-refresh within 8 s', page.waitForFunction(n => +document.body.dataset.refreshes > n, { timeout: 8000 }, refreshes));
    const stillChecked = await page.$$eval('input.sel', (cs, ids) => cs.filter(c => c.checked).map(c => c.dataset.id).sort().join(',') === [...ids].sort().join(','), pair);
    check(stillChecked, 'selection lost after auto refresh');
    await page.click('#compare');
    await must('compare view shows no uPlot chart', page.waitForSelector('#chart .uplot canvas'));
    check(query().get('view') === 'compare', `compare click did not switch view: ${page.url()}`);
    check(query().get('ids') === pair.join(','), `compare URL ids=${query().get('ids')}`);

    // Chart: one series per run, legend names both runs.
    const legend = await page.$$eval('#chart .u-legend .u-series', trs => trs.slice(1).map(t => t.textContent.trim()));
    check(legend.length === pair.length, `chart has ${legend.length} series, expected ${pair.length}: ${legend}`);
    for (const id of pair) check(legend.some(l => l.includes(id)), `legend lacks ${id}: ${legend}`);
    // Config differences: at least one row, and no row with identical values.
    const cfgRows = await page.$$eval('#config-diff tbody tr', trs => trs.map(t => [...t.cells].map(c => c.textContent)));
    check(cfgRows.length >= 1, 'config difference table is empty');
    for (const r of cfgRows) check(new Set(r.slice(1)).size > 1, `config table lists an identical field: ${r.join(' | ')}`);
    // Pictures side by side, actually loaded.
    const widths = await allImagesLoaded('#pictures img');
    check(widths.every(w => w > 0), `some compare pictures did not load: widths ${widths}`);
    const sideBySide = await page.$$eval('#pictures tbody tr', trs => trs.some(t => t.querySelectorAll('img').length >= 2));
    check(sideBySide, 'no picture row shows both runs side by side');
    // Study tables.
    const accRows = await page.$$eval('section[data-table="accuracy"] table tbody tr', trs => trs.length);
    check(accRows >= 1, 'accuracy table missing or empty on the compare view');
    check(await page.$('#scatter svg, #scatter p'), 'scatter section missing');
    await page.screenshot({ path: path.join(SHOT_DIR, 'compare.png'), fullPage: true });
    noProblems('compare view');
    log(`compare ok (${cfgRows.length} differing fields, ${widths.length} pictures)`);

    // 4. Run page: config, per-epoch table, pictures.
    const runLink = await page.evaluateHandle(id => [...document.querySelectorAll('a.runlink')].find(a => a.textContent === id), pair[0]);
    check(runLink.asElement(), `compare view has no link to ${pair[0]}`);
    await runLink.asElement().click();
    await must('run page shows no config text', page.waitForSelector('#config-text'));
    check(query().get('view') === 'run' && query().get('id') === pair[0], `run link went to ${page.url()}`);
    check((await page.$eval('#config-text', e => e.textContent)).trim().length > 0, 'config text is empty');
    check(await page.$$eval('#metrics-table tbody tr', t => t.length) >= 1, 'per-epoch metrics table is empty');
    const runWidths = await allImagesLoaded('#run-pictures img');
    check(runWidths.some(w => w > 0), 'no picture loaded on the run page');
    await page.screenshot({ path: path.join(SHOT_DIR, 'run.png'), fullPage: true });
    // Back button returns to the compare view.
    await page.goBack();
    await must('Back did not return to the compare chart', page.waitForSelector('#chart .uplot canvas'));
    noProblems('run view');
    log('run page ok');

    // 5. Hostile description on its run page is shown as text and never executed.
    await page.goto(`${BASE}/?view=run&id=${encodeURIComponent(xss.id)}`, { waitUntil: 'domcontentloaded' });
    await must(`run page of ${xss.id} shows no config text`, page.waitForSelector('#config-text'));
    check(await page.$eval('.description', e => e.textContent) === xss.description, 'run page does not show the description as text');
    check(await page.$$eval('main script', s => s.length) === 0, 'a <script> element was created from data');
    check(await page.evaluate(() => window.__pwned === undefined), 'window.__pwned was set on the run page (XSS)');
    log('escaping ok');

    // 6. Two k-fold experiments of the fixture compared: the later one is paired by fold.
    const kfold = runs.filter(r => r.experiment === 'nih50_kfold' || r.experiment === 'nih50_kfold_16ep')
      .sort((a, b) => (a.experiment === 'nih50_kfold' ? 0 : 1) - (b.experiment === 'nih50_kfold' ? 0 : 1));
    check(kfold.length === 6, `expected 3 folds of nih50_kfold and of nih50_kfold_16ep, got ${kfold.length}`);
    await page.goto(`${BASE}/?view=compare&ids=${kfold.map(r => encodeURIComponent(r.id)).join(',')}`, { waitUntil: 'domcontentloaded' });
    await must('compare view of two k-fold experiments shows no paired section', page.waitForSelector('section.paired h3'));
    const pairedTitle = await page.$eval('section.paired h3', e => e.textContent);
    check(pairedTitle === 'Paired by fold: nih50_kfold_16ep against nih50_kfold', `paired section titled "${pairedTitle}"`);
    const accuracyRow = await page.$$eval('section.paired tbody tr', trs => trs.length ? [...trs[0].cells].map(c => c.textContent) : []);
    check(accuracyRow[0] === 'accuracy' && accuracyRow[6] === '3 / 0', `paired accuracy row: ${accuracyRow}`);
    // Accuracy against compute: both experiments, with their TFLOP (2.5 a fold epoch) and minutes.
    const panels = await page.$$eval('section#pareto svg.scatter', svgs => svgs.map(v => v.querySelectorAll('circle').length));
    check(panels.length === 2 && panels.every(n => n === 2), `pareto panels with their points: ${panels}`);
    const paretoRows = await page.$$eval('section#pareto tbody tr', trs => trs.map(tr => [...tr.cells].map(c => c.textContent)));
    const longer = paretoRows.find(r => r[0] === 'nih50_kfold_16ep') || [];
    check(longer[4] === '15.0' && longer[5] === '6.0' && longer[6] === 'yes', `pareto row of nih50_kfold_16ep: ${longer}`);
    noProblems('paired view');
    log('paired k-fold view ok');

    // 7. Sweeps: the header link lists the fixture's sweep; its page shows the 8 trials (the best,
    // trial 4, starred), the best-so-far curve, one panel per axis and the parallel coordinates.
    await page.goto(BASE + '/', { waitUntil: 'domcontentloaded' });
    await waitRows();
    await page.click('#sweeps-link');
    await must('sweeps list shows no sweep', page.waitForSelector('#sweeps-table tbody tr'));
    const sweepRow = await page.$$eval('#sweeps-table tbody tr', trs => trs.map(tr => [...tr.cells].map(c => c.textContent)));
    check(sweepRow.length === 1 && sweepRow[0][0] === 'sweep_lr_smoothing' && sweepRow[0][4] === '8 / 8' &&
      sweepRow[0][5] === '95.37 +- 0.28 %' && sweepRow[0][7] === 'finished', `sweeps list row: ${sweepRow}`);
    await page.click('#sweeps-table tbody tr a');
    await must('sweep page shows no trials table', page.waitForSelector('#trials-table tbody tr'));
    check(query().get('view') === 'sweep' && query().get('name') === 'sweep_lr_smoothing', `sweep URL: ${page.url()}`);
    const trialRows = await page.$$eval('#trials-table tbody tr', trs => trs.map(tr => [...tr.cells].map(c => c.textContent)));
    check(trialRows.length === 8, `trials table has ${trialRows.length} rows, not 8`);
    check(trialRows[4][0] === '4 ★' && trialRows[4][1] === '1e-2' && trialRows[4][2] === '0' && trialRows[4][4] === '95.37 +- 0.28 %' &&
      trialRows[4][7] === 'done', `best trial row: ${trialRows[4]}`);
    check(trialRows.filter(r => r[0].includes('★')).length === 1, 'not exactly one best trial');
    const bestCurve = await page.$$eval('section#best-so-far svg.scatter circle', cs => cs.length);
    check(bestCurve === 8, `best-so-far curve has ${bestCurve} points, not 8`);
    check(await page.$$eval('section#best-so-far svg polyline.front', p => p.length) === 1, 'no best-so-far line');
    const axisPanels = await page.$$eval('section#axes svg.scatter', svgs => svgs.map(v => v.querySelectorAll('circle').length));
    check(axisPanels.length === 2 && axisPanels.every(n => n === 8), `axis panels with their points: ${axisPanels}`);
    const lines = await page.$$eval('section#parallel svg.parallel polyline', ps => ps.map(p => p.getAttribute('data-trial')));
    check(lines.length === 8, `parallel coordinates draw ${lines.length} lines, not 8`);
    check(await page.$eval('section#parallel polyline.best', p => p.getAttribute('data-trial')) === '4', 'the best line is not trial 4');
    const foldLinks = await page.$$eval('#trials-table tbody tr:nth-child(5) a.fold', as => as.map(a => a.getAttribute('href')));
    check(foldLinks.length === 2 && foldLinks[0].includes('sweep_lr_smoothing-t004'), `trial 4's fold links: ${foldLinks}`);
    await page.screenshot({ path: path.join(SHOT_DIR, 'sweep.png'), fullPage: true });
    await page.click('#trials-table tbody tr:nth-child(5) a.fold');
    await must('a fold link does not open the run page', page.waitForSelector('#config-text'));
    noProblems('sweep view');
    log('sweep view ok');

    // 8. An unknown run shows an error banner, not a blank page (this 404 is expected).
    expectBad = BAD_ID.split('/')[0];
    await page.goto(`${BASE}/?view=run&id=${BAD_ID}`, { waitUntil: 'domcontentloaded' });
    await must('unknown run shows no error banner', page.waitForSelector('#error:not([hidden])'));
    check((await page.$eval('#error', e => e.textContent)).includes('404'), 'error banner does not mention the 404');
    expectBad = null;
    noProblems('whole test');
    log('error banner ok');
  } finally {
    await browser.close();
  }
}

const deadline = setTimeout(() => { console.error('FAIL: test took longer than 55 s'); process.exit(1); }, 55000);
main().then(() => {
  clearTimeout(deadline);
  console.log(`PASS: dashboard browser test (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exit(0);
}, e => {
  console.error(`FAIL: ${e instanceof CheckFailed ? '' : 'error: '}${e.message}`);
  process.exit(1);
});
