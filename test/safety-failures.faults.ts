import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startDaemon } from './helpers/daemon.js';
import { sleep, until } from './helpers/rig.js';

// The slower observed failures of issue 10 (npm run test:faults), judged by the simulator's oracle.

t.test('2: a broken chain never starves safety: readings stay fresh, the watchdog never trips', async (t) => {
  const d = await startDaemon({ thermal: { watchdog_s: 5 } }, { chips: 76, scaleShift: 30 });
  t.teardown(() => d.stop());
  const [c0] = d.api.miner.chains;
  await until(() => d.api.miner.chains.every((c) => c.state === 'mining'), 30_000, 'boards mining');
  await d.sim.fault({ kind: 'broken-chain', board: 0, at: 40 });
  const t0 = Date.now();
  let maxGapMs = 0;
  while (Date.now() - t0 < 25_000) {
    maxGapMs = Math.max(maxGapMs, Date.now() - c0.readings.atMs);
    await sleep(250);
  }
  // the supervisor reads every 500 ms (gaps of ~0.6 s measured on a quiet machine, up to 5.7 s seen with the
  // test machine's load near 30); the inline polling this replaces left at least 14 s, past the 5 s watchdog
  t.ok(maxGapMs < 8000, `board 0 read throughout: longest gap ${maxGapMs} ms`);
  t.same(
    d.sim.oracle().boards.map((b) => b.trips.watchdog),
    [0, 0],
    'no MCU watchdog trip (oracle)',
  );
  t.ok(d.sim.oracle().boards[0].power, 'board 0 still powered');
  t.notOk(
    d.logs().some((l) => /unrequested register reply/.test(String(l.msg))),
    'no unrequested register reply warned (11)',
  );
});

t.test('3: fans lost during an operator restart: every board off within 5 s and kept off', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.stop());
  const chains = d.api.miner.chains;
  await until(() => chains.every((c) => c.state === 'mining'), 15_000, 'boards mining');
  void d.api.miner.restart();
  await d.sim.fault({ kind: 'fans-lost' });
  const t0 = Date.now();
  await until(() => d.sim.oracle().boards.every((b) => !b.power), 5000, 'every board off (oracle)');
  t.pass(`every board off ${Date.now() - t0} ms after the fans were lost`);
  void d.api.miner.restart();
  const t1 = Date.now();
  let poweredSamples = 0;
  while (Date.now() - t1 < 6000) {
    if (d.sim.oracle().boards.some((b) => b.power)) poweredSamples++;
    await sleep(200);
  }
  t.equal(poweredSamples, 0, 'no board powered with the fans unreadable, through a second restart (oracle)');
  t.ok(
    chains.every((c) => c.state === 'cooling'),
    'shown as held',
  );
  const h = (await (await fetch(`${d.base}/api/v1/health`)).json()) as { components: { name: string; ok: boolean }[] };
  t.notOk(h.components.find((c) => c.name === 'fans')?.ok, '/health: fans not ok');
  await d.sim.fault({ kind: 'fans-lost', on: false });
  await until(() => chains.every((c) => c.state === 'mining'), 30_000, 'boards back with the fans');
});

t.test('4: a board held hot is powered by nothing: not restart, not pause/resume', async (t) => {
  const d = await startDaemon({ thermal: { target_c: 60, hot_c: 75, dangerous_c: 80 } });
  t.teardown(() => d.stop());
  const [c0] = d.api.miner.chains;
  await until(() => d.api.miner.chains.every((c) => c.state === 'mining'), 15_000, 'boards mining');
  await d.sim.fault({ kind: 'over-temp', board: 0 });
  // the first cut releases as soon as the chips cool below hot; the board overheats again at once and the second
  // cut holds it for the retry time: that is the hold under test
  await until(() => c0.safety().trips >= 2 && c0.state === 'cooling', 40_000, 'board 0 cut twice');
  await until(() => !d.sim.oracle().boards[0].power, 3000, 'off (oracle)');
  const token = readFileSync(join(d.dir, 'state', 'admin.token'), 'utf8').trim();
  const post = (path: string) =>
    fetch(`${d.base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  t.equal((await post('/api/v1/restart')).status, 200);
  t.ok(await staysOff(d, 0, 3000), 'stays off after a REST restart (oracle)');
  await post('/api/v1/mining/pause');
  await post('/api/v1/mining/resume');
  t.ok(await staysOff(d, 0, 3000), 'stays off after pause and resume (oracle)');
  await t.rejects(c0.setFrequency(300), 'ascset refused while held');
  await d.sim.fault({ kind: 'over-temp', board: 0, on: false });
  await until(() => c0.state === 'mining', 90_000, 'board 0 back once cool');
  t.ok(
    d.sim.oracle().boards[0].chips.every((c) => c.tempC < 75 + 3),
    'restarted cool (oracle)',
  );
  t.same(
    d.sim.oracle().boards.map((b) => b.trips.overTemp),
    [0, 0],
    'the MCU never had to trip',
  );
});

t.test('5: a board lost while the fans were out comes back once fans and board are', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.stop());
  const [c0] = d.api.miner.chains;
  await until(() => d.api.miner.chains.every((c) => c.state === 'mining'), 15_000, 'boards mining');
  await d.sim.fault({ kind: 'fans-lost' });
  await until(() => d.api.miner.chains.every((c) => c.state === 'cooling'), 10_000, 'boards held');
  await d.sim.fault({ kind: 'unplug', board: 0 });
  await until(() => c0.state === 'lost', 10_000, 'board 0 lost');
  await d.sim.fault({ kind: 'fans-lost', on: false });
  await d.sim.fault({ kind: 'replug', board: 0 });
  await until(() => c0.state === 'mining' && d.sim.oracle().boards[0].power, 45_000, 'board 0 mining again');
  t.pass('no operator needed');
});

t.test('7: a power-off that fails is retried, escalated to the MCU watchdog, and shown everywhere', async (t) => {
  const d = await startDaemon({ thermal: { target_c: 60, hot_c: 75, dangerous_c: 80, watchdog_s: 4 } });
  t.teardown(() => d.stop());
  const [c0] = d.api.miner.chains;
  await until(() => d.api.miner.chains.every((c) => c.state === 'mining'), 15_000, 'boards mining');
  await d.sim.fault({ kind: 'power-stuck', board: 0 });
  await d.sim.fault({ kind: 'over-temp', board: 0 });
  await until(() => c0.state === 'cooling', 20_000, 'board 0 held');
  const failureLogged = () =>
    d.logs().some((l) => Number(l.level) >= 50 && /power-off|still reads powered/.test(String(l.msg)));
  await until(failureLogged, 5000, 'the failed power-off logged as an error');
  t.pass('failure logged as an error');
  t.ok(c0.safety().powerOffFailures > 0, 'and counted');
  await until(() => c0.safety().escalated, 10_000, 'escalated');
  const boards = (await (await fetch(`${d.base}/api/v1/boards`)).json()) as {
    safety: { escalated: boolean; powerOffFailures: number };
  }[];
  t.ok(boards[0].safety.escalated && boards[0].safety.powerOffFailures > 0, 'REST shows it');
  const metrics = await (await fetch(`${d.base}/metrics`)).text();
  t.match(metrics, /asicd_board_watchdog_escalated\{board="0"\} 1/);
  t.match(metrics, /asicd_board_power_off_failures_total\{board="0"\} [1-9]/);
  const health = await fetch(`${d.base}/api/v1/health`);
  t.equal(health.status, 503, '/health not ok');
  await until(() => !d.sim.oracle().boards[0].power, 4000 + 5000, 'the MCU watchdog cut the power (oracle)');
  t.equal(d.sim.oracle().boards[0].trips.watchdog, 1, 'by its watchdog');
  t.ok(d.sim.oracle().boards[1].power, 'board 1 untouched');
});

t.test('9: fans ahead of the heat: no throttling at start, chips within target + 3 °C', async (t) => {
  // the demo's defaults: target 75, hot 85, two boards of 76 chips at 400 MHz
  const d = await startDaemon({}, { chips: 76, scaleShift: 30, thermalTauS: 8 });
  t.teardown(() => d.stop());
  const chains = d.api.miner.chains;
  await until(() => chains.every((c) => c.state === 'mining'), 30_000, 'boards mining');
  const t0 = Date.now();
  let peak = 0;
  const late: number[] = [];
  while (Date.now() - t0 < 80_000) {
    const o = d.sim.oracle();
    const hottest = Math.max(...o.boards.map((b) => b.maxChipC));
    peak = Math.max(peak, hottest);
    if (Date.now() - t0 > 50_000) late.push(hottest);
    await sleep(500);
  }
  t.ok(peak < 85, `peak ${peak.toFixed(1)} °C stays under hot 85 °C (oracle)`);
  t.ok(
    chains.every((c) => c.counters.throttleSteps === 0),
    'no throttling at start',
  );
  t.ok(Math.max(...late) <= 78, `steady state ${Math.min(...late).toFixed(1)}–${Math.max(...late).toFixed(1)} °C`);
});

/** Whether the board stays unpowered (oracle) for `ms`. */
async function staysOff(d: Awaited<ReturnType<typeof startDaemon>>, board: number, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (d.sim.oracle().boards[board].power) return false;
    await sleep(100);
  }
  return true;
}
