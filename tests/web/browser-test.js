// Drives the web REPL in headless Chromium (playwright-core): run code, see
// the result; start a timer that prints and see the line arrive over /ws;
// HC3 colours rendered, markup in text never live; history; screenshots.
// Then the API docs page: routes by tag, search, "try it" on one HC3 route.
// Environment: PLUA_URL (http://127.0.0.1:PORT), CHROMIUM, SCREENSHOT_DIR.
'use strict';

const { chromium } = require('playwright-core');

let failures = 0;
function check(name, ok, detail) {
  if (ok) console.log(`ok - ${name}`);
  else {
    failures++;
    console.log(`not ok - ${name}: ${detail === undefined ? '' : detail}`);
  }
}

async function runCode(page, code) {
  await page.fill('#code', code);
  await page.press('#code', 'Control+Enter');
}

(async () => {
  const base = process.env.PLUA_URL;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
    // The URL plua printed: its token becomes a cookie, and leaves the address bar.
    await page.goto(process.env.PLUA_WEB_URL);
    check('page loads with its title', (await page.title()) === 'plua web REPL', await page.title());
    check('the token left the address bar', page.url() === base + '/web', page.url());

    check('opening the printed URL: no token asked for', !(await page.isVisible('#token-form')));
    await page.waitForSelector('#connection.online', { timeout: 10000 });
    check('live output connected over /ws', true);

    await runCode(page, '1 + 2');
    const result = await page.waitForSelector('#output .result', { timeout: 10000 });
    check('typed expression shows its result', (await result.textContent()) === '3', await result.textContent());

    await runCode(page, 'return {a = 1, list = {1, 2}}');
    await page.waitForFunction(() => document.querySelectorAll('#output .result').length >= 2, null, { timeout: 10000 });
    const table = await page.$$eval('#output .result', (els) => els[els.length - 1].textContent);
    check('tables shown as formatted JSON', JSON.stringify(JSON.parse(table)) === '{"a":1,"list":[1,2]}' &&
          table.includes('\n'), table);

    await runCode(page, 'error("broken")');
    const error = await page.waitForSelector('#output .error', { timeout: 10000 });
    const errorText = await error.textContent();
    const errorColor = await error.evaluate((e) => getComputedStyle(e).color);
    check('errors shown in red with position', errorText.includes('web:1: broken') && /rgb\(2[0-9]{2}, /.test(errorColor),
          `${errorText} ${errorColor}`);

    await runCode(page, 'setTimeout(function() print("<font color=\'red\'>from a timer</font> &lt;b&gt;x&lt;/b&gt; <img src=x onerror=alert(1)>") end, 300)');
    const liveLine = await page.waitForFunction(
      () => [...document.querySelectorAll('#output .live')].find((e) => e.textContent.includes('from a timer')),
      null, { timeout: 10000 });
    check('a line printed later by a timer arrives over /ws', !!liveLine);
    const rendering = await page.evaluate(() => {
      const line = [...document.querySelectorAll('#output .live')].find((e) => e.textContent.includes('from a timer'));
      const span = line.querySelector('span');
      return { text: line.textContent, color: span ? getComputedStyle(span).color : null,
               img: line.querySelector('img') !== null, b: line.querySelector('b') !== null };
    });
    check('HC3 <font color> rendered as colour', rendering.color === 'rgb(255, 0, 0)', JSON.stringify(rendering));
    check('escaped and unknown markup stays text, never elements',
          rendering.text.includes('<b>x</b>') && !rendering.img && !rendering.b, JSON.stringify(rendering));

    await page.click('#code');
    await page.fill('#code', '');
    await page.press('#code', 'ArrowUp');
    const recalled = await page.inputValue('#code');
    check('up arrow recalls the last input', recalled.startsWith('setTimeout('), recalled);
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('plua.history') || '[]').length);
    check('history kept in local storage', stored >= 4, stored);

    await page.waitForFunction(() => document.getElementById('st-uptime').textContent !== '–', null, { timeout: 10000 });
    const version = await page.textContent('#st-version');
    check('status panel filled', version.startsWith('plua '), version);
    check('QuickApps panel says none are running', (await page.textContent('#qa-empty')) === 'no QuickApps running');

    await page.screenshot({ path: process.env.SCREENSHOT_DIR + '/web-repl.png', fullPage: true });
    await page.setViewportSize({ width: 390, height: 800 });
    await page.emulateMedia({ colorScheme: 'dark' });
    const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
    check('usable at phone width (no horizontal scrolling)', fits);
    await page.screenshot({ path: process.env.SCREENSHOT_DIR + '/web-repl-phone-dark.png', fullPage: true });
    check('no errors in the page', pageErrors.length === 0, pageErrors.join(' | '));

    // The API docs page: routes by tag, search, try one route.
    const docs = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const docsErrors = [];
    docs.on('pageerror', (e) => docsErrors.push(String(e)));
    docs.on('console', (m) => { if (m.type() === 'error') docsErrors.push(m.text()); });
    await docs.goto(base + '/docs');
    check('docs page loads with its title', (await docs.title()) === 'plua API docs', await docs.title());
    await docs.waitForSelector('#routes section[data-tag="devices"]', { timeout: 10000 });
    const total = await docs.$$eval('#routes button', (els) => els.length);
    const tags = await docs.$$eval('#routes section', (els) => els.map((e) => e.dataset.tag));
    check('docs list the HC3 routes by tag, and plua\'s own', total > 263 && tags.includes('devices') &&
          tags.includes('globalVariables') && tags[0] === 'plua', `${total} ${tags.join(',')}`);
    await docs.fill('#search', 'get devices/{deviceID}');
    await docs.waitForFunction((n) => document.querySelectorAll('#routes button').length < n, total, { timeout: 5000 });
    const found = await docs.$$eval('#routes button', (els) => els.map((e) => e.dataset.method + ' ' + e.dataset.route));
    check('search narrows the list', found.includes('GET /api/devices/{deviceID}') && found.length < 20,
          found.join(', '));
    await docs.click('#routes button[data-method="GET"][data-route="/api/devices/{deviceID}"]');
    await docs.fill('#param-deviceID', '42');
    await docs.fill('#try-query', 'view=full');
    await docs.click('#try-send');
    await docs.waitForFunction(() => /^\d/.test(document.getElementById('try-status').textContent), null,
                               { timeout: 10000 });
    const status = await docs.textContent('#try-status');
    const response = await docs.textContent('#try-response');
    let echoed = null;
    try { echoed = JSON.parse(response); } catch (e) { echoed = null; }
    check('"try it" sends the request and shows status and body',
          status.startsWith('200') && echoed && echoed.method === 'GET' && echoed.params.deviceID === 42 &&
          echoed.path === '/api/devices/42?view=full', `${status} ${response}`);
    await docs.screenshot({ path: process.env.SCREENSHOT_DIR + '/docs.png', fullPage: false });
    check('no errors in the docs page', docsErrors.length === 0, docsErrors.join(' | '));
  } finally {
    await browser.close();
  }
  process.exit(failures ? 1 : 0);
})().catch((e) => {
  console.log(`not ok - browser test: ${e.stack || e}`);
  process.exit(1);
});
