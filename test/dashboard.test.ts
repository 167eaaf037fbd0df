import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { TestPool } from '../src/sim/pool/server.js';
import { launchBrowser } from './helpers/browser.js';
import { startDaemon } from './helpers/daemon.js';
import { until } from './helpers/rig.js';

// The dashboard in headless Chromium against the daemon on the simulator: what it shows is what REST says, an
// operator's pool actions go through, a chip killed in the simulator is marked dead.

const d = await startDaemon();
t.teardown(() => d.stop());
const backup = new TestPool({ difficulty: 2e-6 });
await backup.start();
t.teardown(() => backup.stop());
const adminToken = readFileSync(join(d.dir, 'state', 'admin.token'), 'utf8').trim();
const rest = async <T = Record<string, unknown>>(path: string, init: RequestInit = {}): Promise<T> => {
  const r = await fetch(`${d.base}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}`, ...init.headers },
  });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
};
/** Reads REST until `ok` holds (or 10 s pass; the caller's assertion then fails with the last reply). */
const restUntil = async <T>(path: string, ok: (v: T) => boolean): Promise<T> => {
  const end = Date.now() + 10_000;
  for (;;) {
    const v = await rest<T>(path);
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
};
type Board = { board: number; state: string; frequencyMHz: number; voltageMv: number; chips: number };
type Pool = { pool: number; url: string; priority: number; current: boolean; status: string; accepted: number };
type Summary = { accepted: number; hwErrors: number };

await until(() => d.pool.workerStats('api.worker').accepted > 0, 20_000, 'mining');
// The dead chip first: the daemon calls a chip silent only after 30 s without nonces, so that clock starts now.
const DEAD = { board: 1, chip: 3 };
const fault = await fetch(`${d.sim.controlUrl}/fault`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ kind: 'dead-chip', ...DEAD }),
});

const browser = await launchBrowser();
t.teardown(() => browser.close());
const problems: string[] = [];
const watch = (page: Page) => {
  page.on('console', (m) => {
    // health answers 503 while anything is degraded (a pool still connecting, a silent chip): by design, for
    // load balancers; the browser logs every such reply
    if (m.location().url.endsWith('/api/v1/health') && m.text().includes('503')) return;
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
};
const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await ctx.newPage();
watch(page);
// every URL the page asks for (WebSockets too), and what its sockets were granted: a token must never be in a URL
// (the daemon ignores it there, and URLs end up in logs and history)
const urls: string[] = [];
const granted: string[][] = [];
page.on('request', (r) => urls.push(r.url()));
page.on('websocket', (ws) => {
  urls.push(ws.url());
  ws.on('framereceived', (f) => {
    const m =
      typeof f.payload === 'string' && f.payload.startsWith('{"subscribed"') ? JSON.parse(f.payload) : undefined;
    if (m) granted.push(m.subscribed as string[]);
  });
});
await page.goto(`${d.base}/`);
await page.waitForSelector('body[data-ready="yes"]', { timeout: 20_000 }).catch((err: Error) => {
  throw new Error(`${err.message}; the page said: ${problems.join(' | ')}`);
});
await page.waitForSelector('body[data-live="yes"]', { timeout: 10_000 });

const domValue = (sel: string) => page.locator(sel).first().getAttribute('data-value').then(Number);
/** Waits for the page to get fresh data after `fn` has read REST: `n` more pushes of `what`. */
const nextPush = async (what: 'summary' | 'hardware') => {
  const attr = `data-${what}-seq`;
  const seq = Number((await page.locator('body').getAttribute(attr)) ?? '0');
  await page.waitForSelector(`body[${attr}]:not([${attr}="${seq}"])`, { timeout: 10_000 });
};

t.test('the page loads as a loopback viewer: no console errors, no actions offered', async (t) => {
  t.equal(fault.status, 200, 'dead chip injected in the simulator');
  t.equal(await page.title(), 'asicd');
  t.match(await page.locator('#who').textContent(), /viewer/);
  t.equal(await page.locator('button:has-text("Switch")').count(), 0, 'no pool actions for a viewer');
  t.notOk(await page.locator('#add-pool').isVisible(), 'no add-pool form for a viewer');
  // the status pill follows /api/v1/health (read every 5 s and on board events)
  await page.waitForSelector('#status[data-state="ok"]', { timeout: 20_000 });
  t.equal(await page.locator('#status').textContent(), 'Mining');
  t.same(problems, [], 'no console errors or failed requests');
});

t.test('the numbers shown are the numbers REST gives', async (t) => {
  // counters only grow: REST before ≤ page ≤ REST after, with the page's data produced in between
  const s0 = await rest<Summary>('/api/v1/summary');
  await nextPush('summary');
  const acceptedShown = await domValue('#kpi-accepted');
  const hwShown = await domValue('#kpi-hw');
  const s1 = await rest<Summary>('/api/v1/summary');
  t.ok(
    acceptedShown >= s0.accepted && acceptedShown <= s1.accepted,
    `accepted ${acceptedShown} in [${s0.accepted}, ${s1.accepted}]`,
  );
  t.ok(hwShown >= s0.hwErrors && hwShown <= s1.hwErrors, `HW errors ${hwShown} in [${s0.hwErrors}, ${s1.hwErrors}]`);
  t.ok(acceptedShown > 0);

  const b0 = await rest<Board[]>('/api/v1/boards');
  await nextPush('hardware');
  const b1 = await rest<Board[]>('/api/v1/boards');
  t.equal(await page.locator('.board').count(), b1.length, 'one card per board');
  for (const b of b1) {
    const card = `.board[data-board="${b.board}"]`;
    for (const f of ['frequencyMHz', 'voltageMv', 'chips'] as const) {
      const shown = await domValue(`${card} [data-field="${f}"]`);
      const before = b0[b.board][f];
      t.ok(shown === before || shown === b[f], `board ${b.board} ${f}: shown ${shown}, REST ${before} → ${b[f]}`);
    }
    t.equal(await page.locator(`${card} [data-field="state"]`).textContent(), b.state);
    const chips = await page.locator(`#heatmap .chip[data-board="${b.board}"]`).count();
    t.equal(chips, b.chips, `board ${b.board}: a heatmap cell per chip`);
  }
  const fans = await rest<{ fans: { fan: number; rpm: number }[] }>('/api/v1/fans');
  t.equal(await page.locator('.fan').count(), fans.fans.length, 'a row per fan');

  const tuning = await rest<{ mode: string; boards: { board: number; stage: string }[] }>('/api/v1/tuning');
  t.equal(await page.locator('#tuning-badge').textContent(), tuning.mode, 'tuning mode as REST says');
  for (const b of tuning.boards) {
    t.match(await page.locator(`#tuning dd[data-board="${b.board}"]`).textContent(), b.stage, `board ${b.board} stage`);
  }

  const pools = await rest<Pool[]>('/api/v1/pools');
  await nextPush('summary');
  for (const p of pools) {
    const row = page.locator(`#pools tr[data-pool="${p.pool}"]`);
    t.match(await row.locator('.pool-url').textContent(), p.url);
    t.equal(await row.locator('[data-field="status"]').textContent(), p.status);
  }
  t.same(problems, []);
});

t.test('an operator logs in with a token and pool actions round-trip through REST', async (t) => {
  const op = await rest<{ token: string }>('/api/v1/tokens', {
    method: 'POST',
    body: JSON.stringify({ name: 'shift lead', role: 'operator' }),
  });
  await page.click('#login-btn');
  await page.fill('#token', op.token);
  await page.click('#login-form button[type="submit"]');
  await page.waitForSelector('#add-pool', { state: 'attached' });
  await page.waitForSelector('body.can-act', { state: 'attached' });
  t.match(await page.locator('#who').textContent(), /shift lead · operator/);
  t.same(
    urls.filter((u) => u.includes('token=') || u.includes(op.token)),
    [],
    'no URL carries a token',
  );
  // the log is an operator topic: a socket is granted it only if it carried the operator's token (as a subprotocol,
  // since no URL had it)
  await until(() => granted.some((g) => g.includes('logs')), 10_000, 'the socket granted the operator topic');
  t.ok(
    granted.some((g) => g.includes('logs')),
    'the WebSocket carried the token without a URL',
  );

  // priority: typed into the table, read back from REST
  const prio = page.locator('#pools tr[data-pool="0"] input.prio');
  await prio.fill('7');
  await prio.blur();
  const after = await restUntil<Pool[]>('/api/v1/pools', (p) => p[0].priority === 7);
  t.equal(after[0].priority, 7, 'priority changed through the page');

  // add a pool through the form, then switch to it
  await page.click('.add-pool summary');
  await page.fill('#add-pool input[name="url"]', backup.url);
  await page.fill('#add-pool input[name="user"]', 'dash.backup');
  await page.fill('#add-pool input[name="password"]', 'backup-secret');
  await page.fill('#add-pool input[name="priority"]', '3');
  await page.click('#add-pool button[type="submit"]');
  await page.waitForSelector('#pools tr[data-pool="1"]', { timeout: 10_000 });
  const added = (await rest<Pool[]>('/api/v1/pools')).find((p) => p.pool === 1);
  t.match(added, { url: backup.url, priority: 3 }, 'REST has the added pool');
  t.match(await page.locator('#pools tr[data-pool="1"] .pool-url').textContent(), backup.url);
  await restUntil<Pool[]>('/api/v1/pools', (p) => p.find((x) => x.pool === 1)?.status === 'alive');
  await page.waitForSelector('#pools tr[data-pool="1"] button:has-text("Switch")', { timeout: 10_000 });
  await page.click('#pools tr[data-pool="1"] button:has-text("Switch")');
  await page.waitForSelector('#pools tr[data-pool="1"].current', { timeout: 10_000 });
  const now = await rest<Pool[]>('/api/v1/pools');
  t.ok(now.find((p) => p.pool === 1)?.current, 'REST: mining on the new pool');
  await until(() => backup.workerStats('dash.backup').accepted > 0, 20_000, 'shares on the new pool');

  // strategy
  await page.selectOption('#strategy', 'round-robin');
  await page.click('#strategy-form button[type="submit"]');
  const st = await restUntil<{ strategy: string }>('/api/v1/strategy', (s) => s.strategy === 'round-robin');
  t.equal(st.strategy, 'round-robin', 'strategy set');

  const audit = readFileSync(join(d.dir, 'state', 'audit.log'), 'utf8');
  t.match(audit, /"who":"shift lead".*"action":"POST \/api\/v1\/pools\/:pool\/switch"/, 'audited as the operator');
  t.notOk(audit.includes('backup-secret'), 'no password in the audit log');
  t.same(problems, []);
});

t.test('the heatmap marks the chip killed in the simulator, and only it', async (t) => {
  const oracle = (await (await fetch(`${d.sim.controlUrl}/oracle`)).json()) as {
    boards: { chips: { dead: boolean }[] }[];
  };
  t.ok(oracle.boards[DEAD.board].chips[DEAD.chip].dead, 'the simulator has the chip dead');
  const cell = `#heatmap .chip[data-board="${DEAD.board}"][data-chip="${DEAD.chip}"]`;
  await page.waitForSelector(`${cell}.dead`, { timeout: 50_000 });
  const cells = page.locator('#heatmap .chip.dead');
  const dead: string[] = [];
  for (let i = 0; i < (await cells.count()); i++) {
    const c = cells.nth(i);
    dead.push(`${await c.getAttribute('data-board')}/${await c.getAttribute('data-chip')}`);
  }
  t.same(dead, [`${DEAD.board}/${DEAD.chip}`], 'one dead chip shown');
  await page.hover(cell);
  const tip = await page.locator('#tip').textContent();
  t.match(tip, /Board 1 · chip 3/);
  t.match(tip, /Status\s*silent/);
  const chips = await rest<{ chip: number; silent: boolean; nonces: number }[]>(`/api/v1/boards/${DEAD.board}/chips`);
  t.ok(chips[DEAD.chip].silent, 'REST agrees');
  t.match(tip, new RegExp(`Nonces\\s*${chips[DEAD.chip].nonces.toLocaleString('en-US')}`), 'its nonce count on hover');
  await page.waitForSelector('#events li:has-text("chip silent")', { timeout: 10_000 });
  t.pass('the silent chip is listed among the events');
  t.same(problems, []);
});
