import { readdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { errorRate } from '../src/sim/board/physics.js';
import { startDaemon } from './helpers/daemon.js';
import { until } from './helpers/rig.js';

/** One cgminer API request (JSON), its reply parsed. */
function cgminer(port: number, command: string, parameter?: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(JSON.stringify({ command, parameter })));
    const chunks: Buffer[] = [];
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8').replace(/\0$/, ''))));
  });
}

interface OracleReply {
  atPower: { hashrateHs: number; powerW: number };
}

// One end-to-end tune on a few simulated chips: the daemon, the simulator on tcp links, a short thermal time
// constant and a high measuring nonce rate keep it short; the decisions are the ones the full run makes. Judged by
// the simulator's oracle, not by the daemon's view: a chip past its true limit counts no hash rate at all. The error
// bound is the default one (0.2 %): the model's chips err 0.5 % as soon as they pass their limit, so a looser bound
// (1 %, tried once to shorten steps) lets the test accept chips a few MHz past it, by design of the test, and the
// tuned board loses them. With 8 chips a board the hash rate bound is a sanity bound (0.85 of the oracle's best);
// bench/tuning measures the real figure.
t.test('power mode on 2 × 8 simulated chips: tuned onto the target, near the oracle, profile saved', async (t) => {
  const targetW = 180;
  const d = await startDaemon(
    {
      tuning: {
        mode: 'power',
        power_target_w: targetW,
        max_hw_error_rate: 0.002,
        measure_nonces_per_chip_s: 200,
        settle_s: 5,
      },
      api: { cgminer_allow: 'W:127.0.0.1/32' },
    },
    { thermalTauS: 1.5 },
  );
  t.teardown(() => d.stop());
  const tuner = d.api.miner.tuner;
  // about a minute on an idle machine; several times that when the cores are shared: a generous deadline, and where
  // each board was when it passed
  await until(() => tuner.boards().every((b) => b.tuner?.stage === 'tuned'), 720_000, 'both boards tuned').catch(
    (err: Error) => {
      const where = tuner.boards().map((b) => [b.chain.state, b.tuner?.stage, b.tuner?.progress, b.tuner?.lastReason]);
      throw new Error(`${err.message}: ${JSON.stringify(where)}`);
    },
  );
  const o = d.sim.oracle();
  const powerW = o.boards.reduce((a, b) => a + b.powerW, 0);
  const best = (await (await fetch(`${d.sim.controlUrl}/oracle/tuning?power_w=${targetW}`)).json()) as OracleReply;
  const hashrateHs = o.boards.reduce(
    (a, b) => a + b.chips.reduce((h, c) => h + (c.freqMHz <= c.maxStableMHz ? c.freqMHz * 1e6 * 894 : 0), 0),
    0,
  );
  // the model's true error share of the tuned chips, weighted by frequency (what bench/tuning reports)
  let badMHz = 0;
  let allMHz = 0;
  for (const b of o.boards)
    for (const c of b.chips) {
      badMHz += c.freqMHz * errorRate(c.freqMHz, c.maxStableMHz);
      allMHz += c.freqMHz;
    }
  t.comment(
    JSON.stringify(
      tuner.boards().map((b) => ({
        v: b.chain.voltageMv,
        fails: b.tuner?.fails,
        last: b.tuner?.lastRateFail,
        curve: b.tuner?.curve.map((p) => [p.voltageMv, Math.round(p.powerW)]),
      })),
    ),
  );
  t.ok(Math.abs(powerW / targetW - 1) <= 0.05, `miner power ${powerW.toFixed(1)} W for a ${targetW} W target`);
  t.ok(
    hashrateHs / best.atPower.hashrateHs >= 0.85,
    `hash rate ${(hashrateHs / 1e12).toFixed(2)} TH/s = ${(hashrateHs / best.atPower.hashrateHs).toFixed(3)} of the oracle's best`,
  );
  t.ok(badMHz / allMHz <= 0.002, `model hardware-error share ${(badMHz / allMHz).toExponential(2)} ≤ 0.002`);
  const view = (await (await fetch(`${d.base}/api/v1/tuning`)).json()) as {
    mode: string;
    boards: { stage: string; chips: { freqMHz: number }[]; curve: unknown[] }[];
  };
  t.equal(view.mode, 'power');
  t.ok(view.boards.every((b) => b.stage === 'tuned' && b.curve.length > 0 && b.chips.length === 8));
  const distinct = new Set(view.boards.flatMap((b) => b.chips.map((c) => c.freqMHz)));
  t.ok(distinct.size > 2, `chips run at their own frequencies (${distinct.size} distinct)`);
  const profiles = readdirSync(join(d.dir, 'state', 'tuning')).filter((n) => n.endsWith('.json'));
  t.equal(profiles.length, 2, `a profile per board serial: ${profiles.join(', ')}`);
  const stageNow = tuner.boards()[0].tuner?.stage;
  const metrics = await (await fetch(`${d.base}/metrics`)).text();
  // the stage the metrics show is the tuner's (a board may have moved on since: see the comment below)
  const metricStage = /asicd_tuning_stage\{board="0",stage="([a-z]+)"\} 1/.exec(metrics)?.[1];
  t.ok(
    metricStage !== undefined && [stageNow, tuner.boards()[0].tuner?.stage].some((s) => s === metricStage),
    `metrics: board 0 ${metricStage}`,
  );
  t.match(metrics, /asicd_chip_frequency_hertz\{board="0",chip="7"\} \d/);
  // the tuner's stage just before and just after the request: STATS must say one of them (a board may move on)
  const stageBefore = tuner.boards()[0].tuner?.stage;
  const stats = (await cgminer(d.cgPort, 'stats')) as { STATS: Record<string, unknown>[] };
  const stageAfter = tuner.boards()[0].tuner?.stage;
  // bmminer-style rows come first; the board's own row is named L7<board>
  const board0 = stats.STATS.find((r) => r.ID === 'L70') ?? {};
  // what moved a board off 'tuned' meanwhile, should it have (the tuner's reason, the daemon's warnings)
  const why = () =>
    JSON.stringify({
      reasons: tuner.boards().map((b) => [b.chain.state, b.tuner?.lastReason, b.chain.counters.reinits]),
      warnings: d
        .logs()
        .filter((l) => Number(l.level) >= 40)
        .map((l) => l.msg)
        .slice(-10),
    });
  // a board that left 'tuned' within these seconds is not a failure of this test, but it is said. (Every chip of a
  // board backing off right after tuning was once seen here: late results found under a lowered ticket, counted as
  // errors once 'tuned' raised it; fixed and covered by test/ticket-change.test.ts.)
  if (tuner.boards().some((b) => b.tuner?.stage !== 'tuned')) t.comment(`a board left 'tuned': ${why()}`);
  t.equal(board0['Tuning Mode'], 'power', 'cgminer STATS says the tuning mode');
  t.ok(
    board0['Tuning Stage'] === stageBefore || board0['Tuning Stage'] === stageAfter,
    `and the tuner's stage: ${board0['Tuning Stage']} (tuner ${stageBefore} → ${stageAfter}) ${board0['Tuning Stage'] === 'tuned' ? '' : why()}`,
  );
  const chipFreqs = String(board0['Chip Frequencies']).split(' ').map(Number);
  t.equal(chipFreqs.length, 8, 'and each chip frequency');
  const set = (await cgminer(d.cgPort, 'ascset', '0,freq,425')) as { STATUS: { STATUS: string; Msg: string }[] };
  t.match(
    set.STATUS[0],
    { STATUS: 'E', Msg: /auto-tuning is on/ },
    `ascset freq does not fight the tuner: ${JSON.stringify(set.STATUS[0])}`,
  );
});
