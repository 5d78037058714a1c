// Time for the dashboard's runs page to list a large root in headless Chromium: from navigation
// until the count line names every run and the first page of rows is drawn (server JSON, transfer,
// parsing, filtering, sorting and drawing), then one refresh. Prints a table. Not a test: run by tools/dashboard_page_benchmark.sh.
//
//   NODE_PATH=third_party/npm/node_modules node tools/dashboard_page_benchmark.js URL RUNS
'use strict';
const puppeteer = require('puppeteer-core');

async function main() {
  const [url, runs] = [process.argv[2], Number(process.argv[3])];
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  const rows = [];
  for (let i = 0; i < 3; ++i) {
    const start = Date.now();
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    // Listed: the count line says all runs were read, and the first page's rows are drawn.
    await page.waitForFunction(
        n => (document.querySelector('#count')?.textContent || '').startsWith(`${n} runs`) &&
            document.querySelectorAll('#runs tbody tr').length >= Math.min(n, 200),
        { timeout: 30000, polling: 10 }, runs);
    const shown = Date.now() - start;
    const before = Number(await page.evaluate(() => document.body.dataset.refreshes || 0));
    const refreshStart = Date.now();
    await page.waitForFunction(b => Number(document.body.dataset.refreshes || 0) > b,
                               { timeout: 30000, polling: 10 }, before);
    rows.push([i + 1, shown, Date.now() - refreshStart]);
  }
  await browser.close();
  console.log(`runs page with ${runs} runs, headless Chromium`);
  console.log('load  listed: count and first page drawn (ms)  next refresh incl. 5 s wait (ms)');
  for (const [i, shown, refresh] of rows) {
    console.log(`${String(i).padEnd(4)}  ${String(shown).padEnd(41)}  ${refresh}`);
  }
}

main().catch(e => { console.error(e); process.exit(1); });
