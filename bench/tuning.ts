// Auto-tuning on the simulator (3 × 76 chips, scale model) judged by the simulator's tuning oracle:
//  - power mode: miner power against the target (±3 %), hash rate as a ratio to the oracle's best at that power
//  - efficiency mode: J/TH as a ratio to the oracle's best J/TH
//  - wall time to tuned; hardware-error share while tuned (the model's true one and the daemon's count)
//  - a restart with the stored profile: seconds until the chips make the tuned hash rate again (≤ 30 s), and that
//    hash rate as a ratio to the oracle's best
//  - the machine's load average meanwhile (the simulator, the pool and the daemon share its cores)
// --runs N (default 1) tunes N times, each on a model of another seed (other chips, other limits), and prints the
// median of each figure with its range: a run takes 6–25 minutes of both cores.
// The daemon is the built one (make build), a child process on loopback. Figures are from the model's truth.
// Run: make build && node --import tsx bench/tuning.ts --mode power --power-w 2400 --runs 3   (or --mode efficiency)
// The restart figure alone, from profiles a tuned run stored (its state/tuning folder, printed at its end):
//      node --import tsx bench/tuning.ts --restart-from <folder>
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorRate } from '../src/sim/board/physics.js';
import { Simulator } from '../src/sim/board/simulator.js';
import { TestPool } from '../src/sim/pool/server.js';
import { spawnDaemon, stopChild } from './daemon.js';
import { median } from './lib.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'power' },
    'power-w': { type: 'string', default: '2400' },
    'max-minutes': { type: 'string', default: '25' },
    'restart-from': { type: 'string' },
    'keep-state': { type: 'boolean', default: false },
    runs: { type: 'string', default: '1' },
  },
});
const mode = values.mode === 'efficiency' ? 'efficiency' : 'power';
const targetW = Number(values['power-w']);
const maxMs = Number(values['max-minutes']) * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

const maxHwErrorRate = 0.002;
let dir = '';
let sim: Simulator;
let pool: TestPool;
let apiPort = 0;
let extra: Record<string, unknown> & { tuning: Record<string, unknown> };

/** A fresh model (of `seed`), pool and state folder for one run. */
async function setUp(seed: number): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), 'asicd-bench-tuning-'));
  sim = new Simulator({ boards: 3, chips: 76, seed, scaleShift: 30, link: 'tcp', dir, fans: 4, controlPort: 0 });
  await sim.start();
  pool = new TestPool({ difficulty: 1e-6, notifyIntervalMs: 600_000, newBlockIntervalMs: 6_000_000 });
  await pool.start();
  apiPort = 18000 + Math.floor(Math.random() * 2000);
  extra = {
    api: { port: apiPort, cgminer_enabled: false },
    tuning: { mode, power_target_w: targetW, max_hw_error_rate: maxHwErrorRate },
  };
}

interface TuningView {
  boards: { stage: string; progress: number; voltageMv: number; powerW: number }[];
}
const view = async (): Promise<TuningView | undefined> => {
  try {
    return (await (await fetch(`http://127.0.0.1:${apiPort}/api/v1/tuning`)).json()) as TuningView;
  } catch {
    return undefined;
  }
};

/** The model's truth: power, clean hash rate and error share of the whole miner. */
function truth() {
  const o = sim.oracle();
  let powerW = 0;
  let hashrateHs = 0;
  let bad = 0;
  let all = 0;
  for (const b of o.boards) {
    // a board powered off makes nothing, whatever its chips' PLLs still hold
    if (!b.power) continue;
    powerW += b.powerW;
    for (const c of b.chips) {
      if (c.dead || c.freqMHz > c.maxStableMHz + 90) continue;
      const e = errorRate(c.freqMHz, c.maxStableMHz);
      hashrateHs += c.freqMHz * 1e6 * 894 * (1 - e);
      bad += c.freqMHz * e;
      all += c.freqMHz;
    }
  }
  return { powerW, hashrateHs, errorShare: all > 0 ? bad / all : 0, jPerTh: powerW / (hashrateHs / 1e12) };
}

if (values['restart-from']) {
  await setUp(1);
  await restartOnly(values['restart-from']);
  process.exit(0);
}

/**
 * A restart with stored profiles only: the profiles go into a fresh state folder, the daemon starts in their mode
 * and target, and the figure is the time until the model's chips make the profiles' hash rate (their tuned
 * frequencies on every chip that is not dead, judged by the oracle) within 1 %.
 */
async function restartOnly(from: string): Promise<void> {
  const folder = join(dir, 'state', 'tuning');
  await mkdir(folder, { recursive: true });
  let wantHs = 0;
  let profileMode = mode;
  let powerW = 0;
  for (const name of (await readdir(from)).filter((n) => n.endsWith('.json'))) {
    await copyFile(join(from, name), join(folder, name));
    const p = JSON.parse(await readFile(join(from, name), 'utf8')) as {
      mode: 'power' | 'efficiency';
      targetValue: number;
      freqsMHz: number[];
      dead: number[];
    };
    profileMode = p.mode;
    powerW += p.targetValue;
    wantHs += p.freqsMHz.reduce((h, f, i) => h + (p.dead.includes(i) ? 0 : f * 1e6 * 894), 0);
  }
  const settings = { ...extra, tuning: { ...extra.tuning, mode: profileMode, power_target_w: powerW || targetW } };
  log(`load average at start ${loadavg()[0].toFixed(2)} (1 min); profiles: ${profileMode}, ${powerW} W`);
  const r0 = Date.now();
  const child = spawnDaemon(dir, 'asicd', sim, pool, settings);
  let backS = Number.NaN;
  let backHs = 0;
  let lastLine = '';
  while (Date.now() - r0 < 120_000) {
    await sleep(500);
    const h = truth().hashrateHs;
    const v = await view();
    const line = v ? v.boards.map((b) => `${b.stage} ${b.voltageMv} mV`).join(' | ') : 'no API yet';
    if (line !== lastLine) log(`${line}: ${((100 * h) / wantHs).toFixed(0)} % of the profiles' hash rate`);
    lastLine = line;
    if (h >= 0.99 * wantHs) {
      backS = (Date.now() - r0) / 1000;
      backHs = h;
      break;
    }
  }
  const o = (await (await fetch(`${sim.controlUrl}/oracle/tuning?power_w=${powerW || targetW}`)).json()) as {
    atPower: { hashrateHs: number };
    efficiency: { hashrateHs: number };
  };
  const best = profileMode === 'power' ? o.atPower.hashrateHs : o.efficiency.hashrateHs;
  log(
    Number.isFinite(backS)
      ? `restart with stored ${profileMode}-mode profiles: at ≥ 99 % of their hash rate in ${backS.toFixed(1)} s (≤ 30 s), ${(backHs / 1e12).toFixed(2)} TH/s = ${(backHs / best).toFixed(3)} of the oracle's best`
      : `restart with stored ${profileMode}-mode profiles: NOT at 99 % of their hash rate within 120 s (${(truth().hashrateHs / wantHs).toFixed(3)} of it)`,
  );
  log(`load average at the end ${loadavg()[0].toFixed(2)} (1 min)`);
  await stopChild(child);
  await pool.stop();
  await sim.stop();
  await rm(dir, { recursive: true, force: true });
}

interface Figures {
  tuned: boolean;
  tunedS: number;
  powerRatio: number;
  hashrateRatio: number;
  jPerThRatio: number;
  errorShare: number;
  restartS: number;
  restartRatio: number;
}

/** One tune of a fresh model of `seed`, judged by its oracle; prints as it goes and returns the figures. */
async function oneRun(seed: number): Promise<Figures> {
  await setUp(seed);
  const loads: number[] = [];
  const load1 = () => {
    loads.push(loadavg()[0]);
    return loadavg()[0];
  };
  log(`load average at start ${load1().toFixed(2)} (1 min)`);
  let d = spawnDaemon(dir, 'asicd', sim, pool, extra);
  const t0 = Date.now();
  let lastLine = '';
  let tuned = false;
  for (;;) {
    await sleep(5000);
    load1();
    const v = await view();
    const line = v
      ? v.boards.map((b) => `${b.stage} ${(b.progress * 100).toFixed(0)}% ${b.voltageMv} mV`).join(' | ')
      : '';
    if (line !== lastLine) log(line);
    lastLine = line;
    if (v?.boards.every((b) => b.stage === 'tuned')) {
      tuned = true;
      break;
    }
    if (Date.now() - t0 > maxMs) {
      log('not tuned in time');
      break;
    }
  }
  const tunedS = (Date.now() - t0) / 1000;
  await sleep(30_000);
  const samples: ReturnType<typeof truth>[] = [];
  for (let i = 0; i < 6; i++) {
    samples.push(truth());
    await sleep(5000);
  }
  const avg = (f: (s: ReturnType<typeof truth>) => number) => samples.reduce((a, s) => a + f(s), 0) / samples.length;
  const powerW = avg((s) => s.powerW);
  const hashrateHs = avg((s) => s.hashrateHs);
  const errorShare = avg((s) => s.errorShare);
  const oracle = (await (
    await fetch(`${sim.controlUrl}/oracle/tuning?power_w=${mode === 'power' ? targetW : 10000}`)
  ).json()) as {
    atPower: { hashrateHs: number; powerW: number };
    efficiency: { jPerTh: number; hashrateHs: number; powerW: number };
  };

  log(
    tuned
      ? `mode ${mode}: tuned in ${tunedS.toFixed(0)} s wall (limit 900 s)`
      : `mode ${mode}: NOT tuned after ${tunedS.toFixed(0)} s wall: the figures below are of an unfinished tune`,
  );
  if (mode === 'power') {
    log(`power ${powerW.toFixed(0)} W for a ${targetW} W target: ratio ${(powerW / targetW).toFixed(3)} (within ±3 %)`);
    log(
      `hash rate ${(hashrateHs / 1e12).toFixed(2)} TH/s, oracle's best at ${targetW} W ${(oracle.atPower.hashrateHs / 1e12).toFixed(2)} TH/s: ratio ${(hashrateHs / oracle.atPower.hashrateHs).toFixed(3)} (≥ 0.97)`,
    );
  }
  const jPerTh = powerW / (hashrateHs / 1e12);
  log(
    `J/TH ${jPerTh.toFixed(2)}, oracle's best ${oracle.efficiency.jPerTh.toFixed(2)}: ratio ${(jPerTh / oracle.efficiency.jPerTh).toFixed(3)}${mode === 'efficiency' ? ' (≤ 1.03)' : ''}`,
  );
  log(`hardware-error share (model) ${errorShare.toExponential(2)} against max ${maxHwErrorRate}`);
  if (mode === 'efficiency')
    log(
      `hash rate ${(hashrateHs / 1e12).toFixed(2)} TH/s at ${powerW.toFixed(0)} W; the oracle's best J/TH is at ${(oracle.efficiency.hashrateHs / 1e12).toFixed(2)} TH/s, ${oracle.efficiency.powerW.toFixed(0)} W`,
    );

  // ---- restart with the stored profile ---------------------------------------------------------------------------
  const before = hashrateHs;
  await stopChild(d);
  await sleep(2000);
  const r0 = Date.now();
  d = spawnDaemon(dir, 'asicd', sim, pool, extra);
  let backS = Number.NaN;
  let backHs = 0;
  while (Date.now() - r0 < 120_000) {
    await sleep(500);
    const h = truth().hashrateHs;
    if (h >= 0.99 * before) {
      backS = (Date.now() - r0) / 1000;
      backHs = h;
      break;
    }
  }
  const oracleBest = mode === 'power' ? oracle.atPower.hashrateHs : oracle.efficiency.hashrateHs;
  log(
    Number.isFinite(backS)
      ? `restart with the stored profile: back at ≥ 99 % of the tuned hash rate in ${backS.toFixed(1)} s (≤ 30 s), ${(backHs / 1e12).toFixed(2)} TH/s = ${(backHs / oracleBest).toFixed(3)} of the oracle's best`
      : `restart with the stored profile: NOT back at 99 % of the tuned hash rate within 120 s (now ${(truth().hashrateHs / before).toFixed(3)} of it)`,
  );
  log(
    `load average (1 min) while tuning: mean ${(loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(1)}, max ${Math.max(...loads).toFixed(1)}; at the end ${loadavg()[0].toFixed(1)}`,
  );
  await stopChild(d);
  await pool.stop();
  await sim.stop();
  // the stored profiles are what a later --restart-from needs; the rest of the folder goes
  if (values['keep-state']) log(`profiles kept in ${join(dir, 'state', 'tuning')}`);
  else await rm(dir, { recursive: true, force: true });
  return {
    tuned,
    tunedS,
    powerRatio: powerW / targetW,
    hashrateRatio: hashrateHs / oracle.atPower.hashrateHs,
    jPerThRatio: jPerTh / oracle.efficiency.jPerTh,
    errorShare,
    restartS: backS,
    restartRatio: backHs / oracleBest,
  };
}

const nRuns = Math.max(1, Number(values.runs) || 1);
const all: Figures[] = [];
for (let r = 0; r < nRuns; r++) {
  log(`---- run ${r + 1} of ${nRuns} (model seed ${r + 1})`);
  all.push(await oneRun(r + 1));
}
if (nRuns > 1) {
  const show = (name: string, f: (x: Figures) => number, digits: number, goal: string) => {
    const xs = all.map(f).filter(Number.isFinite);
    log(
      `median of ${nRuns} runs: ${name} ${median(xs).toFixed(digits)} (runs ${all.map((x) => f(x).toFixed(digits)).join(', ')}) ${goal}`,
    );
  };
  log(`tuned in time: ${all.filter((x) => x.tuned).length} of ${nRuns}`);
  show('wall time to tuned, s', (x) => x.tunedS, 0, '(≤ 900)');
  if (mode === 'power') {
    show('power / target', (x) => x.powerRatio, 3, '(0.97–1.03)');
    show("hash rate / oracle's best at that power", (x) => x.hashrateRatio, 3, '(≥ 0.97)');
  }
  show("J/TH / oracle's best J/TH", (x) => x.jPerThRatio, 3, mode === 'efficiency' ? '(≤ 1.03)' : '');
  show('hardware-error share (model)', (x) => x.errorShare, 5, `(≤ ${maxHwErrorRate})`);
  show('restart to ≥ 99 % of the tuned hash rate, s', (x) => x.restartS, 1, '(≤ 30)');
  show("hash rate after the restart / oracle's best", (x) => x.restartRatio, 3, '');
}
