/**
 * Job exhaustion at real speed. The scale model hashes 2^shift times slower than an L7 chip, so on its own a chip
 * never runs out of work. This model tracks, per chip, how much of its job's nonce × version space the chip would
 * have walked at its real-equivalent rate (HASH_INFO's cores at shift 0, the chip's own frequency); once the space is
 * walked the chip is exhausted — it stops returning nonces until a new job arrives — and the time it spends so is its
 * idle time. Hashing itself stays the scale model's.
 */

export interface FeedChip {
  /** real-equivalent hash rate now (H/s); 0 when the chip does not hash */
  rateHs: number;
}

interface ChipState {
  /** hashes of the current job still to walk; 0 = exhausted */
  leftH: number;
  /** the chip holds a job (since power-on) */
  hasJob: boolean;
  atMs: number;
  idleMs: number;
  /** time with a job, exhausted or not (the denominator of the idle share) */
  feedMs: number;
}

export function popcount16(v: number): number {
  let n = 0;
  for (let x = v & 0xffff; x; x &= x - 1) n++;
  return n;
}

/** The space one chip walks for one job: its nonce range (interval × 2^24) for every version it may roll. */
export function chipSpaceHashes(interval: number, versionMaskBits: number): number {
  return interval * 2 ** 24 * 2 ** popcount16(versionMaskBits);
}

export class ExhaustionModel {
  private readonly chips: ChipState[];

  constructor(nChips: number, now = Date.now()) {
    this.chips = Array.from({ length: nChips }, () => ({ leftH: 0, hasJob: false, atMs: now, idleMs: 0, feedMs: 0 }));
  }

  /**
   * Brings every chip up to `now` at the rate it had since the last call. Called before anything that changes a
   * rate (a command from the host) so each stretch of time is walked at the rate that held during it.
   */
  advance(now: number, rates: readonly FeedChip[]): void {
    this.chips.forEach((c, i) => {
      const dtMs = now - c.atMs;
      c.atMs = now;
      if (!c.hasJob || dtMs <= 0) return;
      c.feedMs += dtMs;
      if (c.leftH <= 0) {
        c.idleMs += dtMs;
        return;
      }
      const rate = rates[i]?.rateHs ?? 0;
      if (!(rate > 0)) return;
      const canMs = (c.leftH / rate) * 1000;
      if (canMs >= dtMs) c.leftH -= (rate * dtMs) / 1000;
      else {
        c.leftH = 0;
        c.idleMs += dtMs - canMs;
      }
    });
  }

  /** A job frame reached these chips: each starts on a fresh space. */
  job(now: number, rates: readonly FeedChip[], chipIndexes: readonly number[], spaceH: number): void {
    this.advance(now, rates);
    for (const i of chipIndexes) {
      const c = this.chips[i];
      if (!c) continue;
      c.hasJob = true;
      c.leftH = spaceH;
    }
  }

  /** Power off: the chips hold no job; time without power is not exhaustion. */
  clear(now: number): void {
    for (const c of this.chips) {
      c.hasJob = false;
      c.leftH = 0;
      c.atMs = now;
    }
  }

  exhausted(i: number): boolean {
    const c = this.chips[i];
    return c?.hasJob === true && c.leftH <= 0;
  }

  /** The oracle's view: per chip idle time and share, and the board's share of chip time spent exhausted. */
  report(now: number, rates: readonly FeedChip[]) {
    this.advance(now, rates);
    let idle = 0;
    let fed = 0;
    const chips = this.chips.map((c) => {
      idle += c.idleMs;
      fed += c.feedMs;
      return {
        exhaustedIdleMs: c.idleMs,
        exhaustedShare: c.feedMs > 0 ? c.idleMs / c.feedMs : 0,
        exhausted: c.hasJob && c.leftH <= 0,
      };
    });
    return { exhaustedShare: fed > 0 ? idle / fed : 0, exhaustedIdleMs: idle, fedMs: fed, chips };
  }
}
