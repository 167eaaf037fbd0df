import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'smol-toml';
import t from 'tap';
import { startDaemon } from './helpers/daemon.js';
import { until } from './helpers/rig.js';

// A short thermal time constant in the simulator and a short hold keep this under a minute; the logic is the same.
t.test(
  'hot inlet air: boards throttle and keep mining below dangerous; cool air: back to the wanted frequency',
  async (t) => {
    const d = await startDaemon(
      { thermal: { target_c: 36, hot_c: 40, dangerous_c: 60, throttle_hold_s: 5 } },
      { thermalTauS: 2 },
    );
    t.teardown(() => d.stop());
    const chains = d.api.miner.chains;
    await until(() => chains.every((c) => c.state === 'mining'), 15_000, 'boards mining');
    t.ok(
      chains.every((c) => c.throttleMHz === undefined && c.freqMHz === c.wantMHz),
      'not throttled in 25 °C air',
    );

    await d.sim.fault({ kind: 'inlet', celsius: 32 });
    await until(() => chains.every((c) => c.throttleMHz !== undefined), 20_000, 'both boards throttled');
    await until(
      () =>
        d.sim
          .oracle()
          .boards.every((b, i) => b.chips.every((ch) => ch.freqMHz === chains[i].freqMHz && ch.freqMHz < 400)),
      5000,
      'chips clocked down',
    );
    t.pass('the chips themselves run below the wanted 400 MHz');
    const boards = (await (await fetch(`${d.base}/api/v1/boards`)).json()) as {
      throttled: boolean;
      frequencyMHz: number;
      wantedFrequencyMHz: number;
    }[];
    t.ok(
      boards.every((b) => b.throttled && b.frequencyMHz < b.wantedFrequencyMHz),
      `REST shows it: ${boards.map((b) => `${b.frequencyMHz}/${b.wantedFrequencyMHz} MHz`).join(', ')}`,
    );
    const metrics = await (await fetch(`${d.base}/metrics`)).text();
    t.match(metrics, /asicd_board_throttled\{board="0"\} 1/);
    await new Promise((r) => setTimeout(r, 5000));
    t.ok(
      chains.every((c) => c.state === 'mining' && c.readings.maxChipC < 60),
      `still mining, hottest ${Math.max(...chains.map((c) => c.readings.maxChipC)).toFixed(1)} °C`,
    );

    // throttling switched off by a reload (SIGHUP's path): the wanted frequency at once; on again: throttled again
    const setThrottle = (on: boolean) => {
      const cfg = parse(readFileSync(d.file, 'utf8')) as { thermal: Record<string, unknown> };
      cfg.thermal.throttle = on;
      writeFileSync(d.file, stringify(cfg));
      return d.daemon.reload();
    };
    t.ok(setThrottle(false).applied.includes('thermal.throttle'), 'applied live');
    await until(() => chains.every((c) => c.freqMHz === 400 && c.throttleMHz === undefined), 10_000, 'back at 400 MHz');
    t.pass('throttling off: both boards at the wanted 400 MHz');
    setThrottle(true);
    await until(() => chains.every((c) => c.throttleMHz !== undefined), 20_000, 'throttled again');

    // air so hot that even half speed stays above hot_c: the boards stop at half the wanted frequency, no lower
    await d.sim.fault({ kind: 'inlet', celsius: 45 });
    await until(() => chains.every((c) => c.freqMHz === 200), 60_000, 'both boards at the 200 MHz floor');
    await new Promise((r) => setTimeout(r, 4000));
    t.same(
      chains.map((c) => [c.state, c.freqMHz]),
      chains.map(() => ['mining', 200]),
      'held at the floor, still mining (the dangerous cut-off guards the rest)',
    );

    await d.sim.fault({ kind: 'inlet', celsius: 20 });
    await until(
      () => chains.every((c) => c.throttleMHz === undefined && c.freqMHz === c.wantMHz),
      120_000,
      'back at the wanted frequency',
    );
    t.pass('both boards back at 400 MHz once the air cooled');
    t.ok(
      d.logs().some((l) => /throttling/.test(String(l.msg))),
      'throttling logged',
    );
    t.ok(
      chains.every((c) => c.counters.throttleSteps >= 2),
      'steps counted',
    );
  },
);
