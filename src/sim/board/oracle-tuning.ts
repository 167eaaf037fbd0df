import { RATINGS } from '../../device/maijie-l7/ratings.js';
import { airflow, chipPowerW, MODEL, maxStableMHz, steadyChipTempC } from './physics.js';

// The tuning oracle: from the scale model's hidden per-chip limits (never from the tuner's code or measurements),
// the best a board or the whole miner can do: the most hash rate within a power budget, and the lowest J/TH, with
// the voltage and per-chip frequencies that reach them. Temperatures are the model's steady state for each
// candidate setting, at the airflow and inlet air of the moment. Figures are real-sized (not scaled by 2^s).

/** What the oracle needs of one board: the hidden limits and what cannot hash. */
export interface OracleBoard {
  /** each chip's stable frequency at the model's reference voltage and temperature */
  baseMaxMHz: number[];
  /** chips that cannot hash (dead, or past a broken chain): they draw power at `idleMHz` */
  hashing: boolean[];
  /** frequency of the chips that do not hash (what they were left at) */
  idleMHz: number[];
  /** effective voltage = set voltage × this (a sagging supply) */
  supplyFactor: number;
  minMv: number;
  maxMv: number;
}

export interface OracleAir {
  /** airflow share 0…1 from the fans */
  air: number;
  inletC: number;
}

export interface OracleSetting {
  voltageMv: number;
  freqsMHz: number[];
  hashrateHs: number;
  powerW: number;
  jPerTh: number;
  /** hottest die at this setting's steady state */
  maxChipC: number;
}

const VOLTAGE_STEP_MV = 5;
const FIXED_POINT_ITERATIONS = 40;
const HASHES_PER_CLOCK = MODEL.cores;

interface Steady {
  powerW: number;
  tempsC: number[];
}

/** Steady-state board power and die temperatures with every chip at `freqsMHz` and `voltageMv` set. */
export function steadyState(
  b: OracleBoard,
  a: OracleAir,
  voltageMv: number,
  freqsMHz: number[],
  fromTempsC?: number[],
): Steady {
  const n = freqsMHz.length;
  const v = voltageMv * b.supplyFactor;
  let temps = fromTempsC ?? freqsMHz.map(() => a.inletC + 30);
  let powerW = 0;
  for (let k = 0; k < FIXED_POINT_ITERATIONS; k++) {
    const chipW = freqsMHz.map((f, i) => chipPowerW(f, v, temps[i]));
    powerW = chipW.reduce((s, w) => s + w, 0);
    const next = chipW.map((w, i) => steadyChipTempC(i, n, powerW, w, a.air, a.inletC));
    const moved = next.reduce((m, t, i) => Math.max(m, Math.abs(t - temps[i])), 0);
    temps = next;
    if (moved < 0.002) break;
  }
  return { powerW, tempsC: temps };
}

const clampFreq = (f: number) => Math.min(RATINGS.freqMaxMHz, Math.max(RATINGS.freqMinMHz, f));

/**
 * Every hashing chip at its stable limit at voltage `voltageMv`, scaled by `share` (≤ 1): the limits fall as the
 * board heats, so this is a fixed point of frequency → power → temperature → limit.
 */
function atLimits(b: OracleBoard, a: OracleAir, voltageMv: number, share: number): OracleSetting {
  const v = voltageMv * b.supplyFactor;
  let freqs = b.baseMaxMHz.map((base, i) => (b.hashing[i] ? clampFreq(maxStableMHz(base, v, 60)) : b.idleMHz[i]));
  let s: Steady = steadyState(b, a, voltageMv, freqs);
  for (let k = 0; k < FIXED_POINT_ITERATIONS; k++) {
    const next = b.baseMaxMHz.map((base, i) =>
      b.hashing[i] ? clampFreq(share * maxStableMHz(base, v, s.tempsC[i])) : b.idleMHz[i],
    );
    const moved = next.reduce((m, f, i) => Math.max(m, Math.abs(f - freqs[i])), 0);
    freqs = next;
    s = steadyState(b, a, voltageMv, freqs, s.tempsC);
    if (moved < 0.01) break;
  }
  // the fixed point may sit a hair above a limit: never count a chip past its limit
  freqs = freqs.map((f, i) =>
    b.hashing[i] ? Math.min(f, clampFreq(maxStableMHz(b.baseMaxMHz[i], v, s.tempsC[i]))) : f,
  );
  return setting(b, voltageMv, freqs, s);
}

function setting(b: OracleBoard, voltageMv: number, freqsMHz: number[], s: Steady): OracleSetting {
  const hashrateHs = freqsMHz.reduce((h, f, i) => h + (b.hashing[i] ? f * 1e6 * HASHES_PER_CLOCK : 0), 0);
  return {
    voltageMv,
    freqsMHz,
    hashrateHs,
    powerW: s.powerW,
    jPerTh: hashrateHs > 0 ? s.powerW / (hashrateHs / 1e12) : Number.POSITIVE_INFINITY,
    maxChipC: Math.max(...s.tempsC),
  };
}

function voltages(b: OracleBoard): number[] {
  const lo = Math.max(b.minMv, RATINGS.voltageMinMv);
  const hi = Math.min(b.maxMv, RATINGS.voltageMaxMv);
  const out: number[] = [];
  for (let mv = lo; mv <= hi; mv += VOLTAGE_STEP_MV) out.push(mv);
  return out;
}

/** Every voltage of a board with all its chips at their limits: computed once, then read for every budget. */
export function limitCurve(b: OracleBoard, a: OracleAir): OracleSetting[] {
  return voltages(b).map((mv) => atLimits(b, a, mv, 1));
}

/**
 * The most hash rate one board can make drawing at most `powerW`. At one voltage, power is linear in the sum of
 * frequencies and hash rate is that sum, so within a budget the model favours the lowest voltage whose chips, at
 * their limits, can spend it all (frequencies scaled down alike to the budget; how the cut is shared does not change
 * hash rate); or, where no voltage can, the voltage whose chips at their limits make the most. Both are weighed.
 */
export function bestAtPower(
  b: OracleBoard,
  a: OracleAir,
  powerW: number,
  curve: OracleSetting[] = limitCurve(b, a),
): OracleSetting | undefined {
  let best: OracleSetting | undefined;
  const consider = (s: OracleSetting | undefined) => {
    if (s && (!best || s.hashrateHs > best.hashrateHs || (s.hashrateHs === best.hashrateHs && s.powerW < best.powerW)))
      best = s;
  };
  for (const s of curve) if (s.powerW <= powerW) consider(s);
  const over = curve.find((s) => s.powerW > powerW);
  if (over) {
    let lo = 0;
    let hi = 1;
    let fit: OracleSetting | undefined;
    for (let k = 0; k < 20; k++) {
      const mid = (lo + hi) / 2;
      const t = atLimits(b, a, over.voltageMv, mid);
      if (t.powerW <= powerW) {
        lo = mid;
        fit = t;
      } else hi = mid;
    }
    consider(fit);
  }
  return best;
}

/** The lowest J/TH one board can reach, at any power: each voltage with its chips at or somewhat below their limits. */
export function bestEfficiency(b: OracleBoard, a: OracleAir): OracleSetting | undefined {
  let best: OracleSetting | undefined;
  for (const mv of voltages(b)) {
    for (const share of [1, 0.95, 0.9, 0.85, 0.8]) {
      const s = atLimits(b, a, mv, share);
      if (!best || s.jPerTh < best.jPerTh) best = s;
    }
  }
  return best;
}

export interface MinerOptimum {
  hashrateHs: number;
  powerW: number;
  jPerTh: number;
  boards: OracleSetting[];
}

/**
 * The most hash rate the whole miner can make within `powerW`, split across boards as the model says is best:
 * each board's hash-rate-for-power curve on a grid, then the budget handed out in small pieces to whichever board
 * turns the next piece into the most hash rate.
 */
export function minerBestAtPower(boards: OracleBoard[], a: OracleAir, powerW: number): MinerOptimum {
  const pieces = 24 * boards.length;
  const piece = powerW / pieces;
  const curves = boards.map((b) => {
    const limits = limitCurve(b, a);
    const pts: (OracleSetting | undefined)[] = [];
    for (let k = 0; k <= pieces; k++) pts.push(k === 0 ? undefined : bestAtPower(b, a, k * piece, limits));
    return pts;
  });
  const hashAt = (bi: number, k: number) => curves[bi][k]?.hashrateHs ?? 0;
  const given = boards.map(() => 0);
  for (;;) {
    let pick = -1;
    let gain = -1;
    for (let bi = 0; bi < boards.length; bi++) {
      // look ahead: a board's first watts only pay once its idle draw is covered
      let g = 0;
      for (let j = 1; given[bi] + j <= pieces; j++)
        g = Math.max(g, (hashAt(bi, given[bi] + j) - hashAt(bi, given[bi])) / j);
      if (given[bi] < pieces && g > gain) {
        gain = g;
        pick = bi;
      }
    }
    if (pick < 0 || gain <= 0) break;
    given[pick]++;
    if (given.reduce((x, y) => x + y, 0) >= pieces) break;
  }
  const chosen = given.map((k, bi) => curves[bi][k]).filter((s): s is OracleSetting => s !== undefined);
  const hashrateHs = chosen.reduce((h, s) => h + s.hashrateHs, 0);
  const used = chosen.reduce((w, s) => w + s.powerW, 0);
  return { hashrateHs, powerW: used, jPerTh: hashrateHs > 0 ? used / (hashrateHs / 1e12) : 0, boards: chosen };
}

/** The lowest J/TH of the whole miner: every board at its own best (boards do not share a budget here). */
export function minerBestEfficiency(boards: OracleBoard[], a: OracleAir): MinerOptimum {
  const chosen = boards.map((b) => bestEfficiency(b, a)).filter((s): s is OracleSetting => s !== undefined);
  const hashrateHs = chosen.reduce((h, s) => h + s.hashrateHs, 0);
  const powerW = chosen.reduce((w, s) => w + s.powerW, 0);
  return { hashrateHs, powerW, jPerTh: hashrateHs > 0 ? powerW / (hashrateHs / 1e12) : 0, boards: chosen };
}

/** A simulated board as the oracle sees it. */
export function oracleBoardOf(sim: {
  chips: { baseMaxMHz: number; dead: boolean; freqMHz: number }[];
  faults: { brokenAt: number | undefined; supplySag: boolean };
}): OracleBoard {
  const reach = sim.faults.brokenAt ?? sim.chips.length;
  return {
    baseMaxMHz: sim.chips.map((c) => c.baseMaxMHz),
    hashing: sim.chips.map((c, i) => !c.dead && i < reach),
    // a chip the host cannot reach keeps the frequency it has; a dead one the host can reach is parked at the floor
    idleMHz: sim.chips.map((c, i) => (i < reach ? RATINGS.freqMinMHz : c.freqMHz)),
    supplyFactor: sim.faults.supplySag ? MODEL.sagFactor : 1,
    minMv: MODEL.boardMinMv,
    maxMv: MODEL.boardMaxMv,
  };
}

/** The oracle's inputs from a running simulator: every board's hidden limits, the air of the moment. */
export function oracleInputs(sim: {
  boards: Parameters<typeof oracleBoardOf>[0][];
  fanRpm: number[];
  inletC: number;
}): { boards: OracleBoard[]; air: OracleAir } {
  return { boards: sim.boards.map(oracleBoardOf), air: { air: airflow(sim.fanRpm), inletC: sim.inletC } };
}

/**
 * `GET /oracle/tuning?power_w=W[&board=B]` on the simulator's control endpoint: the best hash rate within W watts
 * (the whole miner, or board B) and the best J/TH, each with the voltage and per-chip frequencies that reach it.
 */
export function tuningOracleReply(
  sim: Parameters<typeof oracleInputs>[0],
  query: { power_w?: string; board?: string },
): { status: number; body: unknown } {
  const { boards, air } = oracleInputs(sim);
  const boardIndex = query.board === undefined ? undefined : Number(query.board);
  if (boardIndex !== undefined && !(Number.isInteger(boardIndex) && boards[boardIndex]))
    return { status: 400, body: { error: `board must be 0–${boards.length - 1}` } };
  const powerW = query.power_w === undefined ? undefined : Number(query.power_w);
  if (powerW !== undefined && !(Number.isFinite(powerW) && powerW > 0))
    return { status: 400, body: { error: 'power_w must be a positive number of watts' } };
  const scope = boardIndex === undefined ? boards : [boards[boardIndex]];
  return {
    status: 200,
    body: {
      air,
      atPower: powerW === undefined ? undefined : minerBestAtPower(scope, air, powerW),
      efficiency: minerBestEfficiency(scope, air),
    },
  };
}
