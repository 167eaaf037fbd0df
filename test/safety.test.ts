import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { RATINGS } from '../src/device/maijie-l7/ratings.js';
import { startDaemon } from './helpers/daemon.js';
import { until } from './helpers/rig.js';

t.test('over the dangerous temperature a board is powered off, and comes back only below hot', async (t) => {
  const d = await startDaemon({ thermal: { target_c: 60, hot_c: 75, dangerous_c: 80, watchdog_s: 5 } });
  t.teardown(() => d.stop());
  const [c0, c1] = d.api.miner.chains;
  await until(() => c0.state === 'mining' && c1.state === 'mining', 15_000, 'both boards mining');
  await d.sim.fault({ kind: 'over-temp', board: 0 });
  await until(() => c0.state === 'cooling', 20_000, 'board 0 cut off');
  t.match(c0.stateReason, /dangerous 80 °C|over-temperature/);
  await until(() => !d.sim.oracle().boards[0].power, 5000, 'board 0 powered off');
  t.pass('board 0 powered off');
  t.equal(c1.state, 'mining', 'the other board keeps mining');
  t.ok(
    d.logs().some((l) => /powering the board off/.test(String(l.msg))),
    'logged',
  );
  await d.sim.fault({ kind: 'over-temp', board: 0, on: false });
  // Unpowered, the board cools on its own; how far it got by now depends on the machine's speed, so the test follows
  // the oracle until the daemon powers the board again: up to then every sample must show it off, and the last one
  // before power came back must already be below hot.
  let hotSamples = 0;
  let lastOffC = Number.POSITIVE_INFINITY;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const b = d.sim.oracle().boards[0];
    if (b.power) break;
    lastOffC = b.maxChipC;
    if (b.maxChipC >= 75) {
      hotSamples++;
      if (c0.state !== 'cooling') t.fail(`state ${c0.state} at ${b.maxChipC.toFixed(1)} °C, above hot`);
    }
    if (Date.now() > deadline) throw new Error('board 0 never powered on again after cooling');
    await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(lastOffC < 75, `powered on again with the chips at ${lastOffC.toFixed(1)} °C (oracle), below hot`);
  t.comment(`${hotSamples} oracle samples above hot, every one with the board off`);
  await until(() => c0.state === 'mining', 60_000, 'board 0 back after cooling');
  const cooled = d.logs().find((l) => /cooled below 75/.test(String(l.msg)));
  t.ok(cooled, 'restart logged');
  t.ok(Number(cooled?.maxChipC) < 75, `restarted at ${Number(cooled?.maxChipC).toFixed(1)} °C, below hot`);
});

t.test('one fan down: the other runs at full speed and mining goes on; every fan down: every board off', async (t) => {
  // a high target lets the fans slow down first, so full speed afterwards is the failure's doing
  const d = await startDaemon({ thermal: { target_c: 85, hot_c: 90, dangerous_c: 95 } });
  t.teardown(() => d.stop());
  const chains = d.api.miner.chains;
  await until(() => chains.every((c) => c.state === 'mining'), 15_000, 'boards mining');
  await until(() => readPwm(d.sim.hwmonDir, 2) < RATINGS.pwmMax, 30_000, 'fans slowed by the temperature control');
  await d.sim.fault({ kind: 'stuck-fan', fan: 1 });
  await until(() => d.api.miner.fans.failed.has(1), 20_000, 'fan 1 reported failed');
  await until(() => readPwm(d.sim.hwmonDir, 2) === RATINGS.pwmMax, 5000, 'fan 2 at full speed');
  t.pass('fan 2 driven at full speed once fan 1 failed');
  t.ok(
    chains.every((c) => c.state === 'mining'),
    'boards keep mining on one fan (min_working 1)',
  );
  await d.sim.fault({ kind: 'stuck-fan', fan: 2 });
  await until(() => chains.every((c) => c.state === 'cooling'), 30_000, 'boards cut off');
  t.ok(chains.every((c) => /every fan has failed/.test(c.stateReason)));
  // `cooling` is set first so no bring-up can power a board on; the power-off follows within the supervisor's tick
  await until(() => d.sim.oracle().boards.every((b) => !b.power), 3000, 'every board powered off (oracle)');
  t.pass('every board powered off');
  await d.sim.fault({ kind: 'stuck-fan', fan: 1, on: false });
  await d.sim.fault({ kind: 'stuck-fan', fan: 2, on: false });
  await until(() => chains.every((c) => c.state === 'mining'), 30_000, 'boards back');
  t.pass('boards mining again after the fans recovered');
});

t.test(
  'fewer working fans than min_working, or fans that cannot be read: every board off until they are back',
  async (t) => {
    const d = await startDaemon({ fans: { min_working: 2 } });
    t.teardown(() => d.stop());
    const chains = d.api.miner.chains;
    await until(() => chains.every((c) => c.state === 'mining'), 15_000, 'boards mining');
    await d.sim.fault({ kind: 'stuck-fan', fan: 2 });
    await until(() => chains.every((c) => c.state === 'cooling'), 30_000, 'boards cut off on one fan');
    t.ok(
      chains.every((c) => c.stateReason === '1 of 2 fans working, 2 needed'),
      chains[0].stateReason,
    );
    await d.sim.fault({ kind: 'stuck-fan', fan: 2, on: false });
    await until(() => chains.every((c) => c.state === 'mining'), 30_000, 'boards back with both fans');
    await d.sim.fault({ kind: 'fans-lost' });
    await until(() => chains.every((c) => c.state === 'cooling'), 30_000, 'boards cut off with the fans unreadable');
    t.match(chains[0].stateReason, /fans unreadable for 2 s/);
    await until(() => d.sim.oracle().boards.every((b) => !b.power), 3000, 'every board powered off (oracle)');
    t.pass('every board powered off');
    await d.sim.fault({ kind: 'fans-lost', on: false });
    await until(() => chains.every((c) => c.state === 'mining'), 30_000, 'boards back once the fans read again');
    t.pass('boards mining again');
  },
);

function readPwm(hwmon: string, fan: number): number {
  return Number.parseInt(readFileSync(join(hwmon, `pwm${fan}`), 'utf8'), 10);
}
