// Heat and the tuner: as chips near the throttle temperature, the board's power target comes down 5 % at a time
// (as DPS/ATM do), and goes back up a step at a time once the chips have been cool for a while. Throttling and the
// safety cut-off stay where they are; this keeps the board out of their way with a lower, still-tuned setting.

export const DERATE_STEP = 0.05;
export const DERATE_MAX_STEPS = 8;
/** Derating starts this far below hot_c, before throttling would. */
export const DERATE_MARGIN_C = 3;
/** Chips must be this much further below the derate line to count as cool. */
export const RESTORE_HYSTERESIS_C = 5;

export interface DerateLimits {
  hotC: number;
  holdMs: number;
}

export class ThermalDerate {
  steps = 0;
  private lastChangeMs = 0;
  private coolSinceMs = 0;

  /** Share of the target the board may use now, 1 when not derated. */
  get factor(): number {
    return 1 - DERATE_STEP * this.steps;
  }

  /** Feeds one reading of the hottest chip; true when the factor changed. */
  update(nowMs: number, maxChipC: number, l: DerateLimits): boolean {
    if (!Number.isFinite(maxChipC)) return false;
    const line = l.hotC - DERATE_MARGIN_C;
    if (maxChipC < line - RESTORE_HYSTERESIS_C) this.coolSinceMs ||= nowMs;
    else this.coolSinceMs = 0;
    if (maxChipC >= line && this.steps < DERATE_MAX_STEPS && nowMs - this.lastChangeMs >= l.holdMs / 3) {
      this.steps++;
      this.lastChangeMs = nowMs;
      return true;
    }
    if (
      this.steps > 0 &&
      this.coolSinceMs > 0 &&
      nowMs - this.coolSinceMs >= l.holdMs &&
      nowMs - this.lastChangeMs >= l.holdMs
    ) {
      this.steps--;
      this.lastChangeMs = nowMs;
      return true;
    }
    return false;
  }
}
