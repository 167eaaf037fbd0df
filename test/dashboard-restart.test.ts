import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { dashboardAssets } from '../src/api/dashboard/plugin.js';
import { buildComponents } from '../src/components.js';
import { loadConfigFile } from '../src/config/load.js';
import { Daemon } from '../src/daemon.js';
import { HistoryStore } from '../src/monitor/history.js';
import { launchBrowser } from './helpers/browser.js';
import { startDaemon } from './helpers/daemon.js';
import { memoryLogger } from './helpers/log.js';
import { until } from './helpers/rig.js';

// The dashboard needs a token when loopback reads are closed; its history survives a daemon restart; its assets
// stay small and are served only by name.

const d = await startDaemon({ api: { open_reads_on_loopback: false }, history: { interval_s: 1 } });
t.teardown(() => d.stop());
const adminToken = readFileSync(join(d.dir, 'state', 'admin.token'), 'utf8').trim();
const rest = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
  const r = await fetch(`${d.base}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}`, ...init.headers },
  });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
};
type History = { t: number[]; stepS: number; hashrateHs: (number | null)[]; boards: unknown[]; pools: unknown[] };
const historyNow = () => rest<History>('/api/v1/history?points=5000');

const browser = await launchBrowser();
t.teardown(() => browser.close());

t.test('assets: small, gzipped, served by name only, with a content security policy', async (t) => {
  const assets = dashboardAssets();
  const gz = [...assets.values()].reduce((n, a) => n + a.gzip.length, 0);
  t.ok(gz <= 300 * 1024, `all assets gzipped: ${(gz / 1024).toFixed(1)} KB (budget 300 KB)`);
  const page = await fetch(`${d.base}/`, { headers: { 'accept-encoding': 'gzip' } });
  t.equal(page.status, 200, 'the page itself needs no token (it holds no data)');
  t.equal(page.headers.get('content-encoding'), 'gzip');
  t.match(page.headers.get('content-security-policy'), /default-src 'none'.*script-src 'self'/);
  t.equal(page.headers.get('x-frame-options'), 'DENY');
  const html = await page.text();
  for (const m of html.matchAll(/(?:src|href)="\/ui\/([^"]+)"/g)) t.ok(assets.has(m[1]), `${m[1]} is served`);
  const etag = page.headers.get('etag') ?? '';
  t.equal((await fetch(`${d.base}/`, { headers: { 'if-none-match': etag } })).status, 304, 'revalidated by ETag');
  t.equal((await fetch(`${d.base}/ui/nothing.js`)).status, 404);
  for (const bad of ['..%2fplugin.ts', '..%2f..%2f..%2fpackage.json', '%2e%2e%2fplugin.ts']) {
    const r = await fetch(`${d.base}/ui/${bad}`);
    t.not(r.status, 200, `${bad} refused (${r.status})`);
  }
  t.equal((await fetch(`${d.base}/api/v1/history`)).status, 401, 'history needs a token here');
});

t.test('a viewer logs in with a token, sees history, and it is still there after a daemon restart', async (t) => {
  const viewer = await rest<{ token: string }>('/api/v1/tokens', {
    method: 'POST',
    body: JSON.stringify({ name: 'night watch', role: 'viewer' }),
  });
  // a few one-second samples with the boards mining
  await until(() => d.pool.workerStats('api.worker').accepted > 0, 20_000, 'mining');
  let before = await historyNow();
  const t0 = Date.now();
  while (before.hashrateHs.filter((h) => h !== null && h > 0).length < 4 && Date.now() - t0 < 20_000) {
    await new Promise((r) => setTimeout(r, 500));
    before = await historyNow();
  }
  t.ok(before.hashrateHs.filter((h) => h !== null && h > 0).length >= 4, `${before.t.length} samples before restart`);
  t.equal(before.boards.length, 2, 'per board');
  t.equal(before.pools.length, 1, 'per pool');

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.teardown(() => ctx.close());
  const page = await ctx.newPage();
  const messages: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') messages.push(m.text());
  });
  page.on('pageerror', (e) => messages.push(`page error: ${e.message}`));
  await page.goto(`${d.base}/`);
  await page.waitForSelector('#login[open]', { timeout: 10_000 });
  await page.fill('#token', 'asicd_not-a-token');
  await page.click('#login-form button[type="submit"]');
  await page.waitForSelector('#login-error:not([hidden])');
  t.match(await page.locator('#login-error').textContent(), /not accepted/);
  await page.fill('#token', viewer.token);
  await page.click('#login-form button[type="submit"]');
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 20_000 });
  t.match(await page.locator('#who').textContent(), /night watch · viewer/);
  t.notOk(await page.locator('#add-pool').isVisible(), 'a viewer gets no actions');
  await page.waitForSelector('body[data-live="yes"]', { timeout: 10_000 });
  const shownBefore = Number(await page.locator('#chart-hist-rate').getAttribute('data-points'));
  t.ok(shownBefore >= before.t.length, `the page draws ${shownBefore} history rows`);
  t.ok(
    messages.every((c) => /401/.test(c)),
    `only the two refused logins show in the console: ${JSON.stringify(messages)}`,
  );

  // restart: the same config file and state dir, a new daemon
  const file = join(d.dir, 'state', 'history.bin');
  await d.daemon.stop('restart for the test');
  const acceptedAtStop = d.api.miner.pools.pools[0].stats.accepted;
  const sizeAtStop = statSync(file).size;
  const onDisk = new HistoryStore(file, 10 ** 9, memoryLogger('warn').log);
  onDisk.open();
  const sharesOnDisk = onDisk.samples.reduce((n, x) => n + x.pools.reduce((m, p) => m + p.accepted, 0), 0);
  onDisk.close();
  t.equal(
    sharesOnDisk,
    acceptedAtStop,
    `the file counts every share the stopped daemon had accepted (${acceptedAtStop})`,
  );
  const mem = memoryLogger('info');
  const d2 = new Daemon(loadConfigFile(d.file), d.file, mem.log, buildComponents);
  await d2.start();
  t.teardown(() => d2.stop('test done'));
  t.ok(
    mem.lines().some((l) => l.msg === 'history loaded' && Number(l.samples) >= before.t.length),
    'the new daemon loaded the history',
  );
  await until(() => d.pool.workerStats('api.worker').accepted > 0, 20_000, 'mining again');
  const after = await historyNow();
  const kept = before.t.filter((x) => after.t.includes(x));
  t.equal(kept.length, before.t.length, 'every sample from before the restart is served after it');
  t.ok(statSync(file).size >= sizeAtStop, 'the file was appended to, not replaced');

  await page.reload();
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 20_000 }).catch(async (err: Error) => {
    throw new Error(
      `${err.message}; the page said: ${await page.locator('#toast').textContent()} ${messages.join(' | ')}`,
    );
  });
  const shownAfter = Number(await page.locator('#chart-hist-rate').getAttribute('data-points'));
  t.ok(shownAfter >= shownBefore, `after the restart the page draws ${shownAfter} rows (was ${shownBefore})`);
  const firstShown = Number(await page.locator('#chart-hist-rate').getAttribute('data-first'));
  t.ok(firstShown <= before.t[0] + after.stepS, 'the chart starts before the restart');
  t.match(await page.locator('#who').textContent(), /night watch/, 'still logged in after a reload');

  // a phone: everything in one column, nothing wider than the screen
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  t.teardown(() => phone.close());
  await phone.addInitScript(`sessionStorage.setItem('asicd.token', ${JSON.stringify(viewer.token)})`);
  const small = await phone.newPage();
  const smallSaid: string[] = [];
  small.on('console', (m) => smallSaid.push(m.text()));
  small.on('pageerror', (e) => smallSaid.push(e.message));
  await small.goto(`${d.base}/`);
  await small.waitForSelector('body[data-hardware-seq]', { timeout: 45_000 }).catch(async (err: Error) => {
    throw new Error(
      `${err.message}; the page said: ${smallSaid.join(' | ')} ${await small.locator('#toast').textContent()}`,
    );
  });
  const width = Number(await small.evaluate('document.documentElement.scrollWidth'));
  t.ok(width <= 390, `no sideways scrolling on a 390 px screen (page ${width} px wide)`);
  await small.tap('#heatmap .chip[data-board="0"][data-chip="2"]');
  t.match(await small.locator('#tip').textContent(), /Board 0 · chip 2/, "a tap shows a chip's numbers");
});
