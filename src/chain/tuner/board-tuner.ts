import { RATINGS } from '../../device/maijie-l7/ratings.js';
import { afterVerdict, type ChipSearch, type SearchBounds, snapMHz, startSearch } from './chip-search.js';
import { type ErrorTest, rateTooLow, sprt, type Verdict } from './statistics.js';
import type { BoardObservation, CurvePoint, TunerAction, TunerStage, TuningMode, TuningProfile } from './types.js';

// One board's tuner: a small state machine fed one observation a second, answering with actions. No I/O.
//
// searching   every chip climbs/bisects to the highest frequency it holds at the board's voltage (chip-search)
// settling    all chips at their limits until temperatures settle; then power is measured: one curve point
// (decide)    the mode picks the next voltage to try, or the final voltage and frequencies
// validating  the final setting is held until every chip passes again at settled temperatures (chips that fail
//             back off a step) and, with a power or hash-rate target, the board is trimmed onto it
// tuned       the profile is saved; chips are watched with the same test and backed off if they err; the target
//             is kept; inlet drift or many backed-off chips start a new tune
//
// Voltage: the search starts at the EEPROM minimum (the least power, so tuning never overshoots a power target by
// much) and climbs. Power and hash rate rise with voltage, so "power" and "hashrate" look for the lowest voltage
// whose chips, at their limits, reach the target (secant steps on the measured curve), then scale frequencies
// down onto it: at one voltage the most hash per watt is there. "efficiency" climbs while measured J/TH improves.

export interface BoardTunerSettings {
  mode: TuningMode;
  /** the full test: validation and watching a tuned chip */
  errorTest: ErrorTest;
  /** the looser test of a search step (statistics.ts: searchTest) */
  searchTest: ErrorTest;
  /** time for temperatures to settle after a change */
  settleMs: number;
  minMv: number;
  maxMv: number;
  /** frequency the first search starts from */
  startMHz: number;
  /** real-sized hashes per clock of one chip (cores) */
  hashesPerClock: number;
  /** inlet drift that starts a new tune, °C */
  retuneInletDeltaC: number;
}

export interface BoardTargets {
  /** the board's share of the miner's power target, W */
  powerW?: number;
  /** the board's share of the miner's hash rate target, H/s */
  hashrateHs?: number;
  /** thermal derating: the most power the board may draw now, W */
  capW?: number;
}

interface ChipTest {
  good0: number;
  bad0: number;
  replies0: number;
  /** replies the chip's frequency and ticket predict over the test */
  expected: number;
  /** the whole board over the same seconds: replies that came, replies predicted */
  boardGot: number;
  boardWant: number;
  /** replies before this time belong to the previous frequency */
  fromMs: number;
  verdict: Verdict;
}

export const CLIMB_MHZ = 25;
export const RESOLUTION_MHZ = 4;
/** Tuned frequencies sit this share under the highest step a chip held: ~2.5 °C of drift before it errs. */
export const MARGIN = 0.01;
/** A chip that fails a held setting backs off this share. */
export const BACKOFF = 0.015;
const FLOOR_MHZ = 100;
const CHANGE_SETTLE_MS = 1000;
const RATE_WINDOW_MS = 5000;
/** A whole board this far short of its predicted replies for this long has chips failing, not a stalled host. */
const SILENT_BOARD_MS = 20_000;
const SILENT_SHARE = 0.05;
const POWER_WINDOW = 5;
/** Trim onto a target when off by more than this share; the tolerance we promise is ±3 %. */
const TRIM_TOLERANCE = 0.015;
/** A board is on its target within this share. */
const TARGET_TOLERANCE = 0.03;
const TRIM_EVERY_MS = 8000;
const MAX_POINTS = 7;
const VOLTAGE_STEP_MV = 25;
const VOLTAGE_RESOLUTION_MV = 10;
/** A re-tune when this share of chips had to back off since the last tune. */
const RETUNE_BACKOFF_SHARE = 0.2;

export class BoardTuner {
  stage: TunerStage = 'off';
  /** progress through the current stage, 0…1 */
  progress = 0;
  voltageMv: number;
  freqsMHz: number[] = [];
  limitsMHz: number[] = [];
  readonly dead = new Set<number>();
  curve: CurvePoint[] = [];
  /** limits found at each voltage tried in this tune */
  private limitsAt = new Map<number, number[]>();
  searches: ChipSearch[] = [];
  private tests: ChipTest[] = [];
  private validated: boolean[] = [];
  private settleUntilMs = 0;
  private powerSamples: number[] = [];
  private lastTrimMs = 0;
  private tunedInletC = Number.NaN;
  private backoffs = 0;
  private pendingRestore: TuningProfile | undefined;
  private last: BoardObservation | undefined;
  private prevMs: number | undefined;
  lastReason = '';
  targets: BoardTargets = {};
  /** failed steps by cause since start: too many bad nonces, or too few replies */
  readonly fails = { errors: 0, rate: 0 };
  /** the last step failed for too few replies: what was seen against what was predicted */
  lastRateFail: { chip: number; replies: number; expected: number; boardRate: number; windowS: number } | undefined;

  constructor(
    private s: BoardTunerSettings,
    profile?: TuningProfile,
  ) {
    this.voltageMv = s.minMv;
    this.pendingRestore = profile;
    this.stage = s.mode === 'off' ? 'off' : 'waiting';
  }

  get settings(): BoardTunerSettings {
    return this.s;
  }

  /** The value a profile is tuned for: the board's target in its mode. */
  targetValue(): number {
    if (this.s.mode === 'power') return this.targets.powerW ?? 0;
    if (this.s.mode === 'hashrate') return this.targets.hashrateHs ?? 0;
    return 0;
  }

  /** New mode or limits: starts over (a profile for the new mode may still apply). */
  reconfigure(s: BoardTunerSettings, profile?: TuningProfile): void {
    this.s = s;
    this.pendingRestore = profile;
    this.resumeStage = undefined;
    this.curve = [];
    this.limitsAt.clear();
    this.stage = s.mode === 'off' ? 'off' : 'waiting';
    this.lastReason = 'settings changed';
  }

  /** An operator asked for a fresh tune (the stored profile is not used). */
  retune(reason: string): void {
    if (this.s.mode === 'off') return;
    this.pendingRestore = undefined;
    this.resumeStage = undefined;
    this.stage = 'waiting';
    this.lastReason = reason;
  }

  /** Targets changed (split, derate): a tuned board trims onto them; one whose voltage cannot reach them re-tunes. */
  setTargets(t: BoardTargets): void {
    this.targets = t;
  }

  /** The power the board should draw now, or undefined when it should simply run at its tuned frequencies. */
  private powerGoalW(): number | undefined {
    const p = this.s.mode === 'power' ? this.targets.powerW : undefined;
    const cap = this.targets.capW;
    if (p === undefined) return cap;
    return cap === undefined ? p : Math.min(p, cap);
  }

  tick(o: BoardObservation): TunerAction[] {
    return safeOrder(o.voltageMv, this.decide(o));
  }

  private decide(o: BoardObservation): TunerAction[] {
    const prev = this.last;
    this.prevMs = prev?.nowMs;
    this.last = o;
    if (this.s.mode === 'off') {
      this.stage = 'off';
      return [];
    }
    if (!o.ready) {
      // never acts on a board that is not mining: what the supervisor holds off stays off
      if (this.stage !== 'waiting') this.pause('board not mining');
      return [];
    }
    const reset =
      prev !== undefined &&
      (o.chips.length !== prev.chips.length || o.chips.some((c, i) => c.replies < (prev.chips[i]?.replies ?? 0)));
    if (reset && this.stage !== 'waiting') this.pause('board brought up again');
    if (this.stage === 'waiting')
      return this.resumeStage && o.chips.length === this.tests.length ? this.resume(o) : this.begin(o);
    this.updateBoardRate(o, prev);
    // a reading the board's controller could not make (NaN) is no sample: one of them poisoned every average after it,
    // and a board in power mode then never reached its target
    if (Number.isFinite(o.powerW) && o.powerW >= 0) {
      this.powerSamples.push(o.powerW);
      if (this.powerSamples.length > POWER_WINDOW) this.powerSamples.shift();
      this.unreadS = 0;
    } else if (++this.unreadS === POWER_WINDOW) this.lastReason = 'no power reading from the board: waiting for one';
    switch (this.stage) {
      case 'searching':
        return this.search(o);
      case 'settling':
        return this.settle(o);
      case 'restoring':
      case 'validating':
        return this.validate(o);
      case 'tuned':
        return this.watch(o);
      default:
        return [];
    }
  }

  // ---- starting, pausing, resuming --------------------------------------------------------------------------

  /** The stage a board that stopped mining (re-init, a hold) picks up again with the same chips. */
  private resumeStage: TunerStage | undefined;

  private pause(reason: string): void {
    if (this.stage !== 'waiting' && this.stage !== 'off') this.resumeStage ??= this.stage;
    if (this.stage === 'tuned' || this.stage === 'validating' || this.stage === 'restoring')
      this.pendingRestore = this.profile();
    this.stage = 'waiting';
    this.lastReason = reason;
  }

  /** Back to the stage the board left, tests begun afresh (its counters restarted), its setting applied again. */
  private resume(o: BoardObservation): TunerAction[] {
    const stage = this.resumeStage ?? 'searching';
    this.resumeStage = undefined;
    this.stage = stage;
    this.tests = o.chips.map((_, i) => this.newTest(o, i));
    this.powerSamples = [];
    if (stage === 'settling') this.settleUntilMs = o.nowMs + this.s.settleMs;
    if (stage === 'validating' || stage === 'restoring') this.startValidation(o, true);
    this.lastReason = `resumed ${stage}`;
    return [
      { kind: 'voltage', voltageMv: this.voltageMv },
      { kind: 'freqs', freqsMHz: this.currentFreqsMHz() },
      { kind: 'measure', on: stage !== 'tuned' },
    ];
  }

  private begin(o: BoardObservation): TunerAction[] {
    const n = o.chips.length;
    const p = this.pendingRestore;
    this.pendingRestore = undefined;
    this.backoffs = 0;
    if (
      p &&
      p.mode === this.s.mode &&
      p.freqsMHz.length === n &&
      Math.abs(p.targetValue - this.targetValue()) <= 0.01 * Math.max(1, this.targetValue()) &&
      p.voltageMv >= this.s.minMv &&
      p.voltageMv <= this.s.maxMv &&
      p.dead.length < n
    ) {
      // a known board: straight to its tuned setting, then re-validated like any new setting. Dead chips are not
      // tested again, so they are parked at the floor here, not left at whatever the file says; no chip starts above
      // the limit it is said to hold. A profile with every chip dead is not restored: a fresh tune may find some alive.
      this.voltageMv = p.voltageMv;
      this.dead.clear();
      for (const d of p.dead) if (Number.isInteger(d) && d >= 0 && d < n) this.dead.add(d);
      this.freqsMHz = p.freqsMHz.map((f, i) =>
        this.dead.has(i) ? FLOOR_MHZ : snapMHz(Math.min(f, p.limitsMHz[i] ?? f)),
      );
      this.limitsMHz = [...p.limitsMHz];
      this.curve = [...p.curve];
      this.tunedInletC = p.inletC;
      this.stage = 'restoring';
      this.lastReason = 'stored profile';
      this.startValidation(o, false);
      return [
        { kind: 'voltage', voltageMv: this.voltageMv },
        { kind: 'freqs', freqsMHz: [...this.freqsMHz] },
        { kind: 'measure', on: true },
      ];
    }
    this.curve = [];
    this.limitsAt.clear();
    this.dead.clear();
    this.voltageMv = this.s.minMv;
    const seed = p && p.limitsMHz.length === n && p.voltageMv === this.voltageMv ? p.limitsMHz : undefined;
    return [
      { kind: 'voltage', voltageMv: this.voltageMv },
      ...this.startSearchAt(o, seed),
      { kind: 'measure', on: true },
    ];
  }

  private bounds(): SearchBounds {
    return { floorMHz: FLOOR_MHZ, ceilMHz: RATINGS.freqMaxMHz, climbMHz: CLIMB_MHZ, resolutionMHz: RESOLUTION_MHZ };
  }

  /** Starts every chip's search at the current voltage, from known limits when there are some. */
  private startSearchAt(o: BoardObservation, knownMHz?: number[]): TunerAction[] {
    const n = o.chips.length;
    const b = this.bounds();
    this.searches = Array.from({ length: n }, (_, i) => {
      if (this.dead.has(i))
        return { status: 'dead', loMHz: undefined, hiMHz: undefined, curMHz: FLOOR_MHZ, steps: 0, streak: 0 };
      const known = knownMHz?.[i];
      // a known limit (another voltage, a profile) is where the chip starts; it is re-tested like any other step
      return startSearch(known ?? this.s.startMHz, b);
    });
    this.tests = this.searches.map((_, i) => this.newTest(o, i));
    this.stage = 'searching';
    this.progress = 0;
    return [{ kind: 'freqs', freqsMHz: this.searches.map((s) => s.curMHz) }];
  }

  private newTest(o: BoardObservation, i: number): ChipTest {
    const c = o.chips[i] ?? { nonces: 0, hwErrors: 0, replies: 0 };
    return {
      good0: c.nonces,
      bad0: c.hwErrors,
      replies0: c.replies,
      expected: 0,
      boardGot: 0,
      boardWant: 0,
      fromMs: o.nowMs + CHANGE_SETTLE_MS,
      verdict: 'more',
    };
  }

  /** Advances chip i's test by one observation. */
  private judge(o: BoardObservation, i: number, dtS: number, test: ErrorTest): Verdict {
    const t = this.tests[i];
    const c = o.chips[i];
    if (!t || !c) return 'more';
    if (o.nowMs < t.fromMs) {
      // replies still in flight from the previous frequency are not this step's
      this.tests[i] = { ...this.newTest(o, i), fromMs: t.fromMs };
      return 'more';
    }
    t.expected += (o.expectedRepliesPerS[i] ?? 0) * dtS;
    t.boardGot += this.tickGot;
    t.boardWant += this.tickWant;
    const good = c.nonces - t.good0;
    const bad = c.hwErrors - t.bad0;
    const replies = c.replies - t.replies0;
    // A chip is judged against its peers over the same seconds: when the whole board falls short together (a busy
    // host, a stalled link) none of them is blamed. And over a few seconds at least: replies come in bursts.
    // But a board silent as a whole for longer than any stall of the host or link (the controller would call such a
    // link lost) is its chips failing the step together: a start frequency past every chip's limit, say.
    const silent = o.nowMs - t.fromMs >= SILENT_BOARD_MS && t.boardGot < SILENT_SHARE * t.boardWant;
    const boardShare = silent ? 1 : t.boardWant > 0 ? Math.min(1, t.boardGot / t.boardWant) : 1;
    if (o.nowMs - t.fromMs >= RATE_WINDOW_MS && rateTooLow(replies, t.expected * boardShare)) {
      t.verdict = 'fail';
      this.fails.rate++;
      this.lastRateFail = {
        chip: i,
        replies,
        expected: Math.round(t.expected),
        boardRate: Math.round(boardShare * 100) / 100,
        windowS: (o.nowMs - t.fromMs) / 1000,
      };
    } else {
      t.verdict = sprt(test, good, bad);
      if (t.verdict === 'fail') this.fails.errors++;
    }
    return t.verdict;
  }

  /** The whole board's replies this tick, and what its chips' frequencies and ticket predicted. */
  private tickGot = 0;
  /** observations in a row without a power reading */
  private unreadS = 0;
  private tickWant = 0;

  private updateBoardRate(o: BoardObservation, prev: BoardObservation | undefined): void {
    this.tickGot = 0;
    this.tickWant = 0;
    if (!prev || prev.chips.length !== o.chips.length) return;
    const dt = this.dtS(o);
    o.chips.forEach((c, i) => {
      if (this.dead.has(i)) return;
      this.tickGot += Math.max(0, c.replies - (prev.chips[i]?.replies ?? c.replies));
      this.tickWant += (o.expectedRepliesPerS[i] ?? 0) * dt;
    });
  }

  /** Seconds since the previous observation (tests count the replies a chip should have sent meanwhile). */
  private dtS(o: BoardObservation): number {
    return this.prevMs === undefined ? 0 : Math.max(0, Math.min(5, (o.nowMs - this.prevMs) / 1000));
  }

  // ---- searching --------------------------------------------------------------------------------------------

  private search(o: BoardObservation): TunerAction[] {
    const b = this.bounds();
    let changed = false;
    const goal = this.powerGoalW();
    // over the power target while climbing: chips still climbing stop where they are (this voltage is too high)
    const over = goal !== undefined && this.avgPowerW() > goal * 1.03;
    this.searches = this.searches.map((s, i) => {
      if (s.status !== 'search') return s;
      if (over && s.loMHz !== undefined && s.hiMHz === undefined) {
        changed = true;
        this.tests[i] = this.newTest(o, i);
        return { ...s, status: 'done', curMHz: s.loMHz };
      }
      const v = this.judge(o, i, this.dtS(o), this.s.searchTest);
      if (v === 'more') return s;
      const next = afterVerdict(s, v === 'pass', b);
      if (next.curMHz !== s.curMHz) changed = true;
      this.tests[i] = this.newTest(o, i);
      if (next.status === 'dead') this.dead.add(i);
      return next;
    });
    const finished = this.searches.filter((s) => s.status !== 'search').length;
    this.progress = this.searches.length ? finished / this.searches.length : 1;
    const acts: TunerAction[] = [];
    if (changed) acts.push({ kind: 'freqs', freqsMHz: this.searches.map((s) => s.curMHz) });
    if (finished === this.searches.length) {
      this.limitsMHz = this.searches.map((s) => s.curMHz);
      this.limitsAt.set(this.voltageMv, [...this.limitsMHz]);
      this.stage = 'settling';
      this.settleUntilMs = o.nowMs + this.s.settleMs;
      this.powerSamples = [];
      this.progress = 0;
    }
    return acts;
  }

  private avgPowerW(): number {
    if (this.powerSamples.length === 0) return 0;
    return this.powerSamples.reduce((a, b) => a + b, 0) / this.powerSamples.length;
  }

  private idealHashrateHs(freqs: number[]): number {
    return freqs.reduce((h, f, i) => h + (this.dead.has(i) ? 0 : f * 1e6 * this.s.hashesPerClock), 0);
  }

  // ---- settling and the next voltage ------------------------------------------------------------------------

  private settle(o: BoardObservation): TunerAction[] {
    this.progress = Math.min(1, 1 - (this.settleUntilMs - o.nowMs) / this.s.settleMs);
    if (o.nowMs < this.settleUntilMs || this.powerSamples.length < POWER_WINDOW) return [];
    const powerW = this.avgPowerW();
    // what the board makes at this voltage once tuned (each chip at its limit less the margin, on a PLL step), not at
    // the limits themselves: a hash rate target picked from the limits' rate came out short by the margin
    const hashrateHs = this.idealHashrateHs(this.tunedAt(this.limitsMHz));
    this.curve.push({
      voltageMv: this.voltageMv,
      powerW,
      hashrateHs,
      jPerTh: hashrateHs > 0 ? powerW / (hashrateHs / 1e12) : Number.POSITIVE_INFINITY,
      atMs: o.nowMs,
    });
    const next = this.nextVoltage();
    if (next === undefined) return this.finish(o);
    const known = this.limitsAt.get(this.voltageMv);
    this.voltageMv = next;
    // start each chip at its limit from the nearest voltage tried, shifted as far as the curve suggests
    return [{ kind: 'voltage', voltageMv: next }, ...this.startSearchAt(o, this.predictLimits(next, known))];
  }

  /** Each chip's limit at `mv`, from the limits at the voltages tried (linear per chip once there are two). */
  private predictLimits(mv: number, fallback: number[] | undefined): number[] | undefined {
    const tried = [...this.limitsAt.entries()].sort((a, b) => Math.abs(a[0] - mv) - Math.abs(b[0] - mv));
    if (tried.length < 2) return fallback;
    const [[v1, l1], [v2, l2]] = tried;
    if (v1 === v2) return l1;
    return l1.map((f, i) => {
      const slope = ((l2[i] ?? f) - f) / (v2 - v1);
      // a slope is only trusted where it says what voltage does (raises the limit)
      return f + Math.max(0, slope) * (mv - v1);
    });
  }

  /** The next voltage to characterise, or undefined when the curve is enough to decide. */
  private nextVoltage(): number | undefined {
    const last = this.curve[this.curve.length - 1];
    if (!last || this.curve.length >= MAX_POINTS) return undefined;
    const up = Math.min(this.s.maxMv, last.voltageMv + VOLTAGE_STEP_MV);
    if (this.s.mode === 'efficiency') {
      const best = this.bestEfficiencyPoint();
      // climb while J/TH improves; stop at the first point that is worse
      if (best !== last || last.voltageMv >= this.s.maxMv) return undefined;
      return up;
    }
    const goal = this.s.mode === 'power' ? this.powerGoalW() : this.targets.hashrateHs;
    if (goal === undefined) return undefined;
    const value = (p: CurvePoint) => (this.s.mode === 'power' ? p.powerW : p.hashrateHs);
    const under = this.curve.filter((p) => value(p) <= goal).sort((a, b) => b.voltageMv - a.voltageMv)[0];
    const over = this.curve.filter((p) => value(p) > goal).sort((a, b) => a.voltageMv - b.voltageMv)[0];
    if (over && (value(over) <= goal * 1.02 || over.voltageMv <= this.s.minMv)) return undefined;
    if (under && under.voltageMv >= this.s.maxMv) return undefined;
    if (under && over && over.voltageMv - under.voltageMv <= VOLTAGE_RESOLUTION_MV) return undefined;
    let mv: number;
    if (under && over) {
      // secant on the measured curve
      const f = (goal - value(under)) / (value(over) - value(under));
      mv = under.voltageMv + f * (over.voltageMv - under.voltageMv);
      mv = Math.min(over.voltageMv - 5, Math.max(under.voltageMv + 5, mv));
    } else {
      // one side only: power ~ V² × limits and limits rise with V, roughly V⁴ over this range
      const p = under ?? over;
      if (!p) return undefined;
      mv = p.voltageMv * (goal / value(p)) ** 0.25;
      if (under) mv = Math.max(mv, under.voltageMv + VOLTAGE_RESOLUTION_MV);
    }
    mv = Math.round(Math.min(this.s.maxMv, Math.max(this.s.minMv, mv)));
    if (this.curve.some((p) => Math.abs(p.voltageMv - mv) < 3)) return undefined;
    return mv;
  }

  /** The board as it runs now, a point of its efficiency curve: measured power, the frequencies' hash rate. */
  private measuredPoint(nowMs: number): CurvePoint {
    const powerW = this.avgPowerW();
    const hashrateHs = this.idealHashrateHs(this.freqsMHz);
    return { voltageMv: this.voltageMv, powerW, hashrateHs, jPerTh: powerW / (hashrateHs / 1e12), atMs: nowMs };
  }

  private bestEfficiencyPoint(): CurvePoint | undefined {
    let best: CurvePoint | undefined;
    for (const p of this.curve) if (!best || p.jPerTh < best.jPerTh) best = p;
    return best;
  }

  /** Picks the final voltage from the curve, sets it and the tuned frequencies, and validates them. */
  private finish(o: BoardObservation): TunerAction[] {
    let pick: CurvePoint | undefined;
    if (this.s.mode === 'efficiency') pick = this.bestEfficiencyPoint();
    else {
      const goal = this.s.mode === 'power' ? this.powerGoalW() : this.targets.hashrateHs;
      const value = (p: CurvePoint) => (this.s.mode === 'power' ? p.powerW : p.hashrateHs);
      if (goal !== undefined) {
        const over = this.curve.filter((p) => value(p) >= goal).sort((a, b) => a.voltageMv - b.voltageMv)[0];
        const under = this.curve.filter((p) => value(p) < goal).sort((a, b) => b.voltageMv - a.voltageMv)[0];
        // hash rate at the goal: scaled down from `over`, or all of `under`'s
        const yieldOf = (p: CurvePoint) =>
          this.s.mode === 'power' ? (value(p) >= goal ? p.hashrateHs * (goal / p.powerW) : p.hashrateHs) : -p.powerW;
        // a point under the power goal is a choice only within the tolerance we promise, or when nothing reaches it;
        // under a hash rate goal within the trim tolerance (chips that back off while validating take more off it)
        const slack = this.s.mode === 'power' ? TARGET_TOLERANCE : TRIM_TOLERANCE;
        const eligible = [over, under].filter(
          (p): p is CurvePoint => p !== undefined && (p === over || !over || value(p) >= goal * (1 - slack)),
        );
        pick = eligible.sort((a, b) => yieldOf(b) - yieldOf(a))[0];
      }
    }
    pick ??= this.curve[this.curve.length - 1];
    const limits = (pick && this.limitsAt.get(pick.voltageMv)) ?? this.limitsMHz;
    const acts: TunerAction[] = [];
    if (pick && pick.voltageMv !== this.voltageMv) {
      this.voltageMv = pick.voltageMv;
      acts.push({ kind: 'voltage', voltageMv: this.voltageMv });
    }
    this.limitsMHz = [...limits];
    this.freqsMHz = this.capped(this.scaleFor(pick));
    this.stage = 'validating';
    this.startValidation(o, true);
    acts.push({ kind: 'freqs', freqsMHz: [...this.freqsMHz] });
    return acts;
  }

  /** The frequencies chips with these limits are tuned to at most: limits less the margin, on a PLL step. */
  private tunedAt(limits: number[]): number[] {
    return limits.map((f, i) => (this.dead.has(i) ? FLOOR_MHZ : snapMHz(Math.max(FLOOR_MHZ, f * (1 - MARGIN)))));
  }

  /** Each chip's highest tuned frequency: its limit less the margin (dead chips parked at the floor). */
  private maxFreqs(): number[] {
    return this.limitsMHz.map((f, i) => (this.dead.has(i) ? FLOOR_MHZ : Math.max(FLOOR_MHZ, f * (1 - MARGIN))));
  }

  private capped(freqs: number[]): number[] {
    const max = this.maxFreqs();
    return freqs.map((f, i) => snapMHz(Math.max(FLOOR_MHZ, Math.min(max[i] ?? f, f))));
  }

  /** Frequencies for a target from the point measured with every chip at its limit. */
  private scaleFor(p: CurvePoint | undefined): number[] {
    const max = this.maxFreqs();
    if (!p) return max;
    let share = 1;
    const goal = this.powerGoalW();
    if (goal !== undefined && p.powerW > goal) share = goal / p.powerW;
    if (this.s.mode === 'hashrate' && this.targets.hashrateHs !== undefined && p.hashrateHs > this.targets.hashrateHs)
      share = Math.min(share, this.targets.hashrateHs / p.hashrateHs);
    return max.map((f, i) => (this.dead.has(i) ? f : f * share));
  }

  // ---- validating, trimming, watching -----------------------------------------------------------------------

  private startValidation(o: BoardObservation, settle: boolean): void {
    this.tests = o.chips.map((_, i) => this.newTest(o, i));
    this.validated = o.chips.map((_, i) => this.dead.has(i));
    this.settleUntilMs = settle ? o.nowMs + this.s.settleMs : o.nowMs;
    this.lastTrimMs = o.nowMs;
    this.powerSamples = [];
    this.progress = 0;
  }

  private validate(o: BoardObservation): TunerAction[] {
    if (o.nowMs < this.settleUntilMs) {
      // temperatures first: what a chip holds cool it may not hold hot
      for (let i = 0; i < this.tests.length; i++) this.tests[i] = this.newTest(o, i);
      return [];
    }
    const acts = this.checkChips(o, true);
    acts.push(...this.trim(o));
    const done = this.validated.filter(Boolean).length;
    this.progress = this.validated.length ? done / this.validated.length : 1;
    if (done === this.validated.length && this.shortOfGoal()) {
      // chips backed off once hot: this voltage no longer reaches the goal; what they hold is a curve point
      this.curve = this.curve.filter((p) => p.voltageMv !== this.voltageMv);
      this.curve.push(this.measuredPoint(o.nowMs));
      this.limitsAt.set(this.voltageMv, [...this.limitsMHz]);
      const next = this.nextVoltage();
      if (next !== undefined) {
        this.voltageMv = next;
        this.lastReason = 'short of the target once hot: a higher voltage';
        return [
          { kind: 'voltage', voltageMv: next },
          ...this.startSearchAt(o, this.predictLimits(next, this.limitsMHz)),
        ];
      }
    }
    if (done === this.validated.length && this.onTarget()) {
      this.stage = 'tuned';
      this.tunedInletC = o.inletC;
      this.backoffs = 0;
      this.lastReason = 'tuned';
      this.progress = 1;
      // the measured tuned point joins the curve
      this.curve.push(this.measuredPoint(o.nowMs));
      if (this.curve.length > 16) this.curve.shift();
      acts.push({ kind: 'measure', on: false }, { kind: 'save' });
    }
    return acts;
  }

  /** Tests every chip at its setting; a chip that fails backs off a step and is tested again. */
  private checkChips(o: BoardObservation, validating: boolean): TunerAction[] {
    let changed = false;
    for (let i = 0; i < this.tests.length; i++) {
      if (this.dead.has(i)) continue;
      const v = this.judge(o, i, this.dtS(o), this.s.errorTest);
      if (v === 'more') continue;
      if (v === 'pass') {
        if (validating) this.validated[i] = true;
      } else {
        // the chip cannot hold this step: back off, and lower its limit so no trim takes it back up
        const f = this.freqsMHz[i];
        const lower = snapMHz(Math.max(FLOOR_MHZ, f * (1 - BACKOFF)));
        this.limitsMHz[i] = Math.min(this.limitsMHz[i] ?? f, lower / (1 - MARGIN));
        this.freqsMHz[i] = lower;
        this.backoffs++;
        changed = true;
        if (validating) this.validated[i] = false;
        if (f <= FLOOR_MHZ) this.dead.add(i);
      }
      this.tests[i] = this.newTest(o, i);
    }
    return changed ? [{ kind: 'freqs', freqsMHz: [...this.freqsMHz] }] : [];
  }

  private onTarget(): boolean {
    const goal = this.powerGoalW();
    if (goal === undefined) return true;
    const p = this.avgPowerW();
    // under the goal with every chip at its tuned maximum is as close as this voltage gets
    const atMax = this.atMax();
    return (
      this.powerSamples.length >= POWER_WINDOW && (Math.abs(p / goal - 1) <= TARGET_TOLERANCE || (p < goal && atMax))
    );
  }

  /**
   * Every chip at its tuned maximum and still short of the goal: of the power goal by more than the tolerance, of a
   * hash rate goal by more than the trim tolerance (chips that backed off once hot took it below what the voltage
   * promised when they were cool).
   */
  private shortOfGoal(): boolean {
    if (this.s.mode === 'hashrate') {
      const goal = this.targets.hashrateHs;
      if (goal === undefined || this.targets.capW !== undefined || this.voltageMv >= this.s.maxMv) return false;
      return this.atMax() && this.idealHashrateHs(this.freqsMHz) < goal * (1 - TRIM_TOLERANCE);
    }
    const goal = this.s.mode === 'power' ? this.powerGoalW() : undefined;
    if (goal === undefined || this.targets.capW !== undefined || this.powerSamples.length < POWER_WINDOW) return false;
    return this.atMax() && this.avgPowerW() < goal * (1 - TARGET_TOLERANCE) && this.voltageMv < this.s.maxMv;
  }

  /** Every chip at its tuned maximum (on its PLL step). */
  private atMax(): boolean {
    const max = this.maxFreqs();
    return this.freqsMHz.every((f, i) => f >= snapMHz(max[i]) - 1e-9);
  }

  /** Keeps the board on its power goal: scales frequencies toward it (never above each chip's tuned maximum). */
  private trim(o: BoardObservation): TunerAction[] {
    if (o.nowMs - this.lastTrimMs < TRIM_EVERY_MS || this.powerSamples.length < POWER_WINDOW) return [];
    const goal = this.powerGoalW();
    const max = this.maxFreqs();
    let next: number[];
    const goalHs = this.s.mode === 'hashrate' ? this.targets.hashrateHs : undefined;
    if (goalHs !== undefined) {
      // onto the hash rate goal (the frequencies' own rate: exact, so not damped), never past a thermal cap
      const h = this.idealHashrateHs(this.freqsMHz);
      if (!(h > 0)) return [];
      let share = Math.abs(h / goalHs - 1) <= TRIM_TOLERANCE ? 1 : goalHs / h;
      if (goal !== undefined) {
        const p = this.avgPowerW();
        if (p > goal * (1 + TRIM_TOLERANCE)) share = Math.min(share, 1 + 0.9 * (goal / p - 1));
        else if (share > 1 && p > 0) share = Math.max(1, Math.min(share, goal / p));
      }
      if (share === 1) return [];
      next = this.freqsMHz.map((f, i) => (this.dead.has(i) ? f : f * share));
    } else if (goal === undefined) {
      // no goal (a derate lifted): back to the tuned maxima
      next = max;
    } else {
      const p = this.avgPowerW();
      if (!(p > 0) || Math.abs(p / goal - 1) <= TRIM_TOLERANCE) return [];
      // power is close to proportional to frequency at one voltage; damped so a noisy reading does not overshoot
      const share = 1 + 0.9 * (goal / p - 1);
      next = this.freqsMHz.map((f, i) => (this.dead.has(i) ? f : f * share));
    }
    const capped = this.capped(next);
    this.lastTrimMs = o.nowMs;
    if (capped.every((f, i) => f === this.freqsMHz[i])) return [];
    capped.forEach((f, i) => {
      // a chip taken higher must show again that it holds it
      if (f > this.freqsMHz[i]) {
        this.tests[i] = this.newTest(o, i);
        if (this.stage === 'validating' || this.stage === 'restoring') this.validated[i] = false;
      }
    });
    this.freqsMHz = capped;
    this.powerSamples = [];
    return [{ kind: 'freqs', freqsMHz: [...this.freqsMHz] }];
  }

  private watch(o: BoardObservation): TunerAction[] {
    const acts = this.checkChips(o, false);
    acts.push(...this.trim(o));
    if (acts.length) acts.push({ kind: 'save' });
    const alive = this.freqsMHz.length - this.dead.size;
    if (Math.abs(o.inletC - this.tunedInletC) > this.s.retuneInletDeltaC) {
      this.retune(`inlet moved from ${this.tunedInletC.toFixed(1)} to ${o.inletC.toFixed(1)} °C`);
    } else if (alive > 0 && this.backoffs > RETUNE_BACKOFF_SHARE * alive) {
      this.retune(`${this.backoffs} chips backed off for hardware errors`);
    }
    return acts;
  }

  /** What is saved for this board (its serial is added by the store). */
  profile(): TuningProfile {
    return {
      version: 1,
      boardId: '',
      mode: this.s.mode,
      targetValue: this.targetValue(),
      voltageMv: this.voltageMv,
      freqsMHz: [...this.freqsMHz],
      limitsMHz: [...this.limitsMHz],
      dead: [...this.dead].sort((a, b) => a - b),
      inletC: Number.isFinite(this.tunedInletC) ? this.tunedInletC : 0,
      curve: [...this.curve],
      savedAtMs: Date.now(),
    };
  }

  /** Each chip's frequency now (the search's step while searching). */
  currentFreqsMHz(): number[] {
    if (this.stage === 'searching') return this.searches.map((s) => s.curMHz);
    if (this.stage === 'settling') return [...this.limitsMHz];
    return [...this.freqsMHz];
  }
}

/**
 * The order a board changes in: a voltage going down comes after the frequencies (lowered first, chips never run a
 * frequency their lower voltage cannot hold, not even for the moment between the two writes); a voltage going up
 * comes first, as the tuner asks.
 */
export function safeOrder(currentMv: number, acts: TunerAction[]): TunerAction[] {
  const v = acts.findIndex((a) => a.kind === 'voltage' && a.voltageMv < currentMv);
  let f = -1;
  acts.forEach((a, i) => {
    if (a.kind === 'freqs') f = i;
  });
  if (v < 0 || f < v) return acts;
  const out = [...acts];
  const [voltage] = out.splice(v, 1);
  out.splice(f, 0, voltage);
  return out;
}
