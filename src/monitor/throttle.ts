import type { ChainController } from '../chain/controller.js';
import type { Config } from '../config/schema.js';
import { findPll } from '../device/maijie-l7/pll.js';
import { RATINGS } from '../device/maijie-l7/ratings.js';
import type { Logger } from '../util/log.js';

/** Throttling steps of this share of the wanted frequency, never below this share of it. */
const THROTTLE_STEP = 0.05;
const THROTTLE_FLOOR = 0.5;
/** Chips this far below hot_c (at most half way to target_c) for throttle_hold_s let a board step back up. */
const THROTTLE_HYSTERESIS_C = 5;

/**
 * Thermal throttling of one board, the ladder's second rung (after the fans, before the cut-off): chips at hot_c or
 * above step the throttle ceiling down by 5 % of the wanted frequency (not below half of it) every sixth of
 * throttle_hold_s unless the last step already has them cooling; chips 5 °C under hot_c (or half way to target_c)
 * for throttle_hold_s step it back up. Throttling switched off (reload) lifts the ceiling.
 */
export class Throttle {
  private lastStepMs = 0;
  private coolSinceMs = 0;
  private tempAtStepC = Number.NaN;

  constructor(
    private readonly chain: ChainController,
    private readonly log: Logger,
  ) {}

  step(thermal: Config['thermal'], now = Date.now()): void {
    const c = this.chain;
    if (!thermal.throttle) {
      if (c.throttleMHz !== undefined) c.setThrottleCeiling(undefined);
      return;
    }
    const t = c.readings.maxChipC;
    if (c.state !== 'mining' || !Number.isFinite(t)) return;
    const holdMs = thermal.throttle_hold_s * 1000;
    const want = c.wantMHz;
    const freq = Math.min(want, c.throttleMHz ?? want);
    const step = Math.max(1, Math.round(want * THROTTLE_STEP));
    const floor = Math.max(RATINGS.freqMinMHz, Math.round(want * THROTTLE_FLOOR));
    const hysteresis = Math.min(THROTTLE_HYSTERESIS_C, (thermal.hot_c - thermal.target_c) / 2);
    if (t < thermal.hot_c - hysteresis) this.coolSinceMs ||= now;
    else this.coolSinceMs = 0;
    // the chips lag the clock: after a step, a further one only while they are not already cooling
    const cooling = t < this.tempAtStepC - 0.2 && now - this.lastStepMs < holdMs;
    let next: number;
    if (t >= thermal.hot_c && freq > floor && !cooling && now - this.lastStepMs >= holdMs / 6) {
      next = findPll(Math.max(floor, freq - step)).freqMHz;
      this.log.warn(
        { maxChipC: t, fromMHz: freq, toMHz: next },
        `chips at or above hot ${thermal.hot_c} °C: throttling`,
      );
    } else if (
      freq < want &&
      this.coolSinceMs > 0 &&
      now - this.coolSinceMs >= holdMs &&
      now - this.lastStepMs >= holdMs
    ) {
      next = findPll(Math.min(want, freq + step)).freqMHz;
      this.log.info({ maxChipC: t, fromMHz: freq, toMHz: next }, 'chips cool again: stepping the frequency up');
    } else {
      return;
    }
    if (next === freq) return;
    this.lastStepMs = now;
    this.tempAtStepC = t;
    c.setThrottleCeiling(next >= want ? undefined : next);
  }
}
