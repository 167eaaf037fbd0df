import { findPll } from '../../device/maijie-l7/pll.js';

// One chip's search for the highest frequency it holds at the board's voltage: climb in coarse steps while it
// passes, then halve the gap between the highest pass and the lowest fail down to a resolution. A chip that fails
// its first step steps down; one that fails at the floor is dead and is parked there, left out of the board's sums.

export type ChipSearchStatus = 'search' | 'done' | 'dead';

export interface ChipSearch {
  status: ChipSearchStatus;
  /** highest frequency the chip passed */
  loMHz: number | undefined;
  /** lowest frequency the chip failed */
  hiMHz: number | undefined;
  /** frequency under test (or the result once done) */
  curMHz: number;
  steps: number;
  /** passes in a row while climbing: each doubles the next climb (up to 4 ×), so a far limit is found in few steps */
  streak: number;
}

export interface SearchBounds {
  floorMHz: number;
  ceilMHz: number;
  climbMHz: number;
  resolutionMHz: number;
}

/** The nearest frequency the PLL can make. */
export const snapMHz = (f: number): number => findPll(f).freqMHz;

export function startSearch(startMHz: number, b: SearchBounds, knownGoodMHz?: number): ChipSearch {
  const cur = snapMHz(Math.min(b.ceilMHz, Math.max(b.floorMHz, startMHz)));
  const lo = knownGoodMHz !== undefined && knownGoodMHz < cur ? snapMHz(knownGoodMHz) : undefined;
  return { status: 'search', loMHz: lo, hiMHz: undefined, curMHz: cur, steps: 0, streak: 0 };
}

/** The search after a verdict on `s.curMHz`. */
export function afterVerdict(s: ChipSearch, passed: boolean, b: SearchBounds): ChipSearch {
  if (s.status !== 'search') return s;
  const n: ChipSearch = { ...s, steps: s.steps + 1, streak: passed ? s.streak + 1 : 0 };
  if (passed) n.loMHz = Math.max(n.loMHz ?? 0, s.curMHz);
  else n.hiMHz = Math.min(n.hiMHz ?? Number.POSITIVE_INFINITY, s.curMHz);
  const lo = n.loMHz;
  const hi = n.hiMHz;
  if (lo === undefined) {
    // nothing passed yet: step down, and a chip that cannot hold the floor is dead
    if (s.curMHz <= b.floorMHz) return { ...n, status: 'dead', curMHz: snapMHz(b.floorMHz) };
    return { ...n, curMHz: snapMHz(Math.max(b.floorMHz, s.curMHz - b.climbMHz)) };
  }
  if (hi === undefined) {
    if (lo >= b.ceilMHz - 1e-9) return { ...n, status: 'done', curMHz: lo };
    const climb = b.climbMHz * 2 ** Math.min(2, Math.max(0, n.streak - 1));
    return { ...n, curMHz: snapMHz(Math.min(b.ceilMHz, lo + climb)) };
  }
  if (hi - lo <= b.resolutionMHz) return { ...n, status: 'done', curMHz: lo };
  const mid = snapMHz((lo + hi) / 2);
  if (mid <= lo || mid >= hi) return { ...n, status: 'done', curMHz: lo };
  return { ...n, curMHz: mid };
}
