// Screenshots of the dashboard for docs/ and the README: the daemon on the simulator (3 boards × 76 chips, two test
// pools), history sampled every few seconds so the charts have something to draw, one chip killed in the simulator,
// and an operator logged in. Run by hand: npm run screenshots [-- minutes]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { buildComponents } from '../../src/components.js';
import { loadConfigFile } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { Simulator } from '../../src/sim/board/simulator.js';
import { simMinerConfig } from '../../src/sim/miner-config.js';
import { TestPool } from '../../src/sim/pool/server.js';
import { createLogger } from '../../src/util/log.js';
import { launchBrowser } from '../helpers/browser.js';
import { freePort } from '../helpers/daemon.js';

const minutes = Number(process.argv[2] ?? '4');
const out = new URL('../../docs/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'asicd-shots-'));
const sim = new Simulator({ boards: 3, chips: 76, seed: 1, scaleShift: 32, link: 'tcp', dir, fans: 4, controlPort: 0 });
await sim.start();
const pools = [new TestPool({ difficulty: 2e-6 }), new TestPool({ difficulty: 2e-6 })];
for (const p of pools) await p.start();
const port = await freePort();
const file = join(dir, 'asicd.toml');
const config = simMinerConfig({
  dir,
  boards: sim.info(),
  hwmon: sim.hwmonDir,
  fans: 4,
  chips: 76,
  pool: { url: pools[0].url, user: 'farm.rack12-07' },
  extra: { api: { port, cgminer_enabled: false }, history: { interval_s: 5, days: 1 } },
});
(config.pools as Record<string, unknown>[]).push({ url: pools[1].url, user: 'farm.rack12-07', priority: 1 });
writeFileSync(file, stringify(config));
const daemon = new Daemon(loadConfigFile(file), file, createLogger({ level: 'warn' }), buildComponents);
await daemon.start();
const base = `http://127.0.0.1:${port}`;
const admin = readFileSync(join(dir, 'state', 'admin.token'), 'utf8').trim();
const op = (await (
  await fetch(`${base}/api/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'operator', role: 'operator' }),
  })
).json()) as { token: string };
await fetch(`${sim.controlUrl}/fault`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ kind: 'dead-chip', board: 1, chip: 41 }),
});
process.stdout.write(`mining for ${minutes} min to gather history…\n`);
await new Promise((r) => setTimeout(r, minutes * 60_000));

const browser = await launchBrowser();
const step = (what: string) => process.stdout.write(`${new Date().toISOString()} ${what}\n`);
for (const [name, viewport, mobile] of [
  ['dashboard-desktop', { width: 1440, height: 900 }, false],
  ['dashboard-phone', { width: 390, height: 844 }, true],
] as const) {
  const ctx = await browser.newContext({
    viewport,
    deviceScaleFactor: mobile ? 2 : 1,
    isMobile: mobile,
    hasTouch: mobile,
  });
  await ctx.addInitScript(`sessionStorage.setItem('asicd.token', ${JSON.stringify(op.token)})`);
  const page = await ctx.newPage();
  step(`${name}: loading`);
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-ready="yes"]');
  await page.waitForSelector('body[data-hardware-seq]');
  await page.waitForTimeout(4000);
  step(`${name}: shooting`);
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
  if (mobile) await page.screenshot({ path: join(out, `${name}-top.png`) });
  else {
    // the heatmap with one chip's numbers on hover
    const card = page.locator('section[aria-labelledby="h-heat"]');
    await card.scrollIntoViewIfNeeded();
    await page.hover('#heatmap .chip[data-board="1"][data-chip="41"]');
    const box = await card.boundingBox();
    if (box)
      await page.screenshot({
        path: join(out, 'dashboard-heatmap.png'),
        clip: { ...box, y: box.y - 150, height: box.height + 150 },
      });
  }
  await ctx.close();
}
await browser.close();
await daemon.stop('screenshots taken');
for (const p of pools) await p.stop();
await sim.stop();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`screenshots in ${out}\n`);
