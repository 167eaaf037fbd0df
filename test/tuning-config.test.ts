import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startDaemon } from './helpers/daemon.js';
import { until } from './helpers/rig.js';

// A chain's frequency_mhz changed through the config (PATCH /api/v1/config, SIGHUP) while auto-tuning runs: the
// tuner owns the chips, as it does against ascset, so the change is kept for mode off and not written over the
// tuner's frequencies (it used to be, silently: chips ran the config frequency while the tuner judged its steps as if
// they ran its own). Turning tuning off then puts the new configured frequency back.
t.test('a config frequency change does not override the tuner; mode off goes back to it', async (t) => {
  const d = await startDaemon({ tuning: { mode: 'efficiency', measure_nonces_per_chip_s: 200, settle_s: 5 } });
  t.teardown(() => d.stop());
  const admin = readFileSync(join(d.dir, 'state', 'admin.token'), 'utf8').trim();
  const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  const tuner = d.api.miner.tuner;
  await until(() => tuner.boards().every((b) => b.tuner?.stage === 'searching'), 120_000, 'searching');
  const cfg = (await (await fetch(`${d.base}/api/v1/config`, { headers })).json()) as {
    chains: Record<string, unknown>[];
  };
  const chains = cfg.chains.map((c) => ({ ...c, frequency_mhz: 200 }));
  const r = await fetch(`${d.base}/api/v1/config`, { method: 'PATCH', headers, body: JSON.stringify({ chains }) });
  t.equal(r.status, 200, await r.text());
  // a few seconds of tuning after the change: no chip is ever put at 200 MHz (the search floor is 100, but a chip
  // of these boards fails nowhere near 200 at the EEPROM minimum voltage)
  let at200 = 0;
  for (let i = 0; i < 30; i++) {
    await new Promise((res) => setTimeout(res, 100));
    for (const b of tuner.boards()) at200 += b.chain.chipMHz.filter((f) => f === 200).length;
  }
  t.equal(at200, 0, 'the config frequency did not override the tuner');
  const off = await fetch(`${d.base}/api/v1/tuning`, { method: 'PUT', headers, body: JSON.stringify({ mode: 'off' }) });
  t.equal(off.status, 200);
  await until(
    () => tuner.boards().every((b) => b.chain.chipMHz.every((f) => f === 200)),
    20_000,
    'mode off: every chip at the new configured 200 MHz',
  );
  t.pass('mode off went back to the configured frequency as it is now');
});
