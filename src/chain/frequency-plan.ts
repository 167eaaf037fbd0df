import { findPll } from '../device/maijie-l7/pll.js';
import { RATINGS } from '../device/maijie-l7/ratings.js';

/**
 * The one place a board's chip frequencies are decided: what each chip is wanted at (config, an operator's ascset,
 * the tuner), capped by the thermal throttle ceiling, clamped to the L7 ratings and to PLL settings that exist.
 * Throttling and tuning both go through it, so neither can undo the other: the tuner sets wanted frequencies,
 * throttling sets the ceiling, and a chip runs at the lower of the two.
 */
export class FrequencyPlan {
  private want: number[] = [];
  /** Thermal throttle ceiling (undefined: none). */
  ceilingMHz: number | undefined;

  constructor(private defaultMHz: number) {
    this.defaultMHz = FrequencyPlan.clamp(defaultMHz);
  }

  /** A frequency the chips can run at: inside the ratings, on a PLL setting. */
  static clamp(freqMHz: number): number {
    const f = Number.isFinite(freqMHz) ? freqMHz : RATINGS.freqMinMHz;
    return findPll(Math.min(RATINGS.freqMaxMHz, Math.max(RATINGS.freqMinMHz, f))).freqMHz;
  }

  /** Sizes the plan for `chips` chips (after an enumeration); chips without a wish run at the default. */
  resize(chips: number): void {
    this.want = Array.from({ length: chips }, (_, i) => this.want[i] ?? this.defaultMHz);
  }

  get chips(): number {
    return this.want.length;
  }

  /** Every chip wanted at one frequency (config, ascset). */
  setAll(freqMHz: number): void {
    this.defaultMHz = FrequencyPlan.clamp(freqMHz);
    this.want = this.want.map(() => this.defaultMHz);
  }

  /** Per-chip wishes, clamped; a list shorter than the chain leaves the other chips as they are. */
  setChips(freqsMHz: readonly number[]): void {
    if (this.want.length === 0) this.resize(freqsMHz.length);
    this.want = this.want.map((f, i) => (freqsMHz[i] === undefined ? f : FrequencyPlan.clamp(freqsMHz[i])));
  }

  /** What each chip is wanted at, before the throttle ceiling. */
  wanted(): number[] {
    return this.want.length ? [...this.want] : [this.defaultMHz];
  }

  /** The highest wanted frequency: what "the board's frequency" means when chips differ. */
  get wantMHz(): number {
    return this.want.length ? Math.max(...this.want) : this.defaultMHz;
  }

  /** What each chip should run at now: its wish, under the throttle ceiling. */
  effective(): number[] {
    const cap = this.ceilingMHz;
    return this.wanted().map((f) => (cap === undefined ? f : Math.min(f, FrequencyPlan.clamp(cap))));
  }
}
