// A model board for the tuner's decision tests: the simulator's physics (hidden per-chip limits that rise with
// voltage and fall with temperature, power, thermal lag) in virtual time, replies drawn at random from it.
import type { BoardTuner, BoardTunerSettings } from '../src/chain/tuner/board-tuner.js';
import { errorTest, searchTest } from '../src/chain/tuner/statistics.js';
import type { BoardObservation, ChipCounts, TunerAction, TuningProfile } from '../src/chain/tuner/types.js';
import type { OracleAir, OracleBoard } from '../src/sim/board/oracle-tuning.js';
import {
  approach,
  chipAnswers,
  chipPowerW,
  errorRate,
  gaussian,
  MODEL,
  maxStableMHz,
  rng,
  steadyChipTempC,
} from '../src/sim/board/physics.js';

export class ModelBoard {
  readonly base: number[];
  freqs: number[];
  tempsC: number[];
  voltageMv: number = MODEL.factoryMv;
  counts: ChipCounts[];
  measure = false;
  powerW = 0;
  dead = new Set<number>();
  nowMs = 0;
  ready = true;
  /** the link delivers nothing (a stalled host or link): every chip silent at once */
  stalled = false;
  private readonly r: () => number;

  constructor(
    readonly n: number,
    seed: number,
    readonly air: OracleAir = { air: 0.6, inletC: 25 },
  ) {
    const g = rng(seed);
    this.r = rng(seed + 99);
    this.base = Array.from({ length: n }, () => MODEL.baseMaxMHzMean + MODEL.baseMaxMHzSd * gaussian(g));
    this.freqs = Array.from({ length: n }, () => MODEL.factoryMHz);
    this.tempsC = Array.from({ length: n }, () => air.inletC);
    this.counts = Array.from({ length: n }, () => ({ nonces: 0, hwErrors: 0, replies: 0 }));
  }

  oracleBoard(): OracleBoard {
    return {
      baseMaxMHz: this.base,
      hashing: this.base.map((_, i) => !this.dead.has(i)),
      idleMHz: this.base.map(() => 100),
      supplyFactor: 1,
      minMv: MODEL.boardMinMv,
      maxMv: MODEL.boardMaxMv,
    };
  }

  expectedPerS(i: number): number {
    return ((this.measure ? 64 : 4) * this.freqs[i]) / 500;
  }

  limit(i: number): number {
    return maxStableMHz(this.base[i], this.voltageMv, this.tempsC[i]);
  }

  private poisson(mean: number): number {
    // normal approximation is plenty for a model (means of a few to a few dozen)
    const x = Math.round(mean + Math.sqrt(mean) * gaussian(this.r));
    return Math.max(0, x);
  }

  /** One second of the model. */
  step(): void {
    this.nowMs += 1000;
    const chipW = this.freqs.map((f, i) => chipPowerW(f, this.voltageMv, this.tempsC[i]));
    this.powerW = chipW.reduce((a, b) => a + b, 0);
    this.tempsC = this.tempsC.map((t, i) =>
      approach(
        t,
        steadyChipTempC(i, this.n, this.powerW, chipW[i], this.air.air, this.air.inletC),
        1,
        MODEL.thermalTauS,
      ),
    );
    for (let i = 0; i < this.n && !this.stalled; i++) {
      const lim = this.limit(i);
      if (this.dead.has(i) || !chipAnswers(this.freqs[i], lim)) continue;
      const replies = this.poisson(this.expectedPerS(i));
      const p = errorRate(this.freqs[i], lim);
      let bad = 0;
      for (let k = 0; k < replies; k++) if (this.r() < p) bad++;
      this.counts[i].nonces += replies - bad;
      this.counts[i].hwErrors += bad;
      this.counts[i].replies += replies;
    }
  }

  observe(): BoardObservation {
    return {
      nowMs: this.nowMs,
      ready: this.ready,
      chips: this.counts.map((c) => ({ ...c })),
      expectedRepliesPerS: this.freqs.map((_, i) => this.expectedPerS(i)),
      voltageMv: this.voltageMv,
      powerW: this.powerW,
      maxChipC: Math.max(...this.tempsC),
      inletC: this.air.inletC,
    };
  }

  apply(acts: TunerAction[]): void {
    for (const a of acts) {
      if (a.kind === 'voltage') this.voltageMv = a.voltageMv;
      else if (a.kind === 'freqs') this.freqs = [...a.freqsMHz];
      else if (a.kind === 'measure') this.measure = a.on;
    }
  }

  /** True hash rate (chips at or under their limit hash cleanly; over it, the bad share is lost). */
  hashrateHs(): number {
    return this.freqs.reduce((h, f, i) => {
      if (this.dead.has(i) || !chipAnswers(f, this.limit(i))) return h;
      return h + f * 1e6 * MODEL.cores * (1 - errorRate(f, this.limit(i)));
    }, 0);
  }

  errorShare(): number {
    let w = 0;
    let e = 0;
    this.freqs.forEach((f, i) => {
      if (this.dead.has(i)) return;
      w += f;
      e += f * errorRate(f, this.limit(i));
    });
    return w > 0 ? e / w : 0;
  }
}

export function settingsFor(mode: BoardTunerSettings['mode'], maxHwErrorRate = 0.002): BoardTunerSettings {
  return {
    mode,
    errorTest: errorTest(maxHwErrorRate),
    searchTest: searchTest(maxHwErrorRate),
    settleMs: 45_000,
    minMv: MODEL.boardMinMv,
    maxMv: MODEL.boardMaxMv,
    startMHz: MODEL.factoryMHz,
    hashesPerClock: MODEL.cores,
    retuneInletDeltaC: 10,
  };
}

/** One model second: the board moves, the tuner looks and acts. */
export function second(m: ModelBoard, t: BoardTuner): TunerAction[] {
  m.step();
  const acts = t.tick(m.observe());
  m.apply(acts);
  return acts;
}

/** Runs the tuner on the model until tuned (or `limitS` virtual seconds); returns the seconds it took. */
export function runUntilTuned(
  m: ModelBoard,
  t: BoardTuner,
  limitS: number,
  onSave?: (p: TuningProfile) => void,
): number {
  for (let s = 0; s < limitS; s++) {
    m.step();
    const acts = t.tick(m.observe());
    m.apply(acts);
    if (onSave && acts.some((a) => a.kind === 'save')) onSave(t.profile());
    if (t.stage === 'tuned') return s + 1;
  }
  return Number.NaN;
}
