import { RATINGS } from './ratings.js';

// PLL0 (contract §1.4): f = 25 MHz × fbdiv / (refdiv × p1 × p2).

export const REF_MHZ = 25;

export interface PllSetting {
  fbdiv: number;
  refdiv: number;
  p1: number;
  p2: number;
  vdo: number;
  freqMHz: number;
  vcoMHz: number;
}

function setting(fbdiv: number, refdiv: number, p1: number, p2: number): PllSetting {
  const vcoMHz = (REF_MHZ * fbdiv) / refdiv;
  return { fbdiv, refdiv, p1, p2, vdo: vcoMHz >= 2400 ? 0x50 : 0x40, vcoMHz, freqMHz: vcoMHz / (p1 * p2) };
}

const ALL: PllSetting[] = (() => {
  const out: PllSetting[] = [];
  for (let refdiv = 1; refdiv <= 2; refdiv++)
    for (let fbdiv = 144; fbdiv <= 235; fbdiv++)
      for (let p1 = 1; p1 <= 7; p1++) for (let p2 = 1; p2 <= p1; p2++) out.push(setting(fbdiv, refdiv, p1, p2));
  return out;
})();

/** The setting closest to `freqMHz`; ties go to the lowest VCO, then the smallest post-divider product. */
export function findPll(freqMHz: number): PllSetting {
  const target = Math.min(RATINGS.freqMaxMHz, Math.max(RATINGS.freqMinMHz, freqMHz));
  let best = ALL[0];
  for (const s of ALL) {
    const d = Math.abs(s.freqMHz - target);
    const bd = Math.abs(best.freqMHz - target);
    if (
      d < bd - 1e-9 ||
      (Math.abs(d - bd) <= 1e-9 &&
        (s.vcoMHz < best.vcoMHz || (s.vcoMHz === best.vcoMHz && s.p1 * s.p2 < best.p1 * best.p2)))
    ) {
      best = s;
    }
  }
  return best;
}

export function encodePll(s: PllSetting): number {
  return ((s.vdo << 24) | (s.fbdiv << 16) | (s.refdiv << 8) | (((s.p1 - 1) << 4) | (s.p2 - 1))) >>> 0;
}

/** Decodes a PLL0 value; undefined when its fields are outside the contract's ranges. */
export function decodePll(v: number): PllSetting | undefined {
  const fbdiv = (v >>> 16) & 0xff;
  const refdiv = (v >>> 8) & 0xff;
  const p1 = ((v >>> 4) & 0x0f) + 1;
  const p2 = (v & 0x0f) + 1;
  if (fbdiv < 144 || fbdiv > 235 || refdiv < 1 || refdiv > 2 || p1 > 7 || p2 > p1) return undefined;
  return setting(fbdiv, refdiv, p1, p2);
}

/** Frequencies of a ramp from `fromMHz` to `toMHz` in steps of at most `stepMHz` (contract §1.5). */
export function rampSteps(fromMHz: number, toMHz: number, stepMHz: number = RATINGS.rampStepMHz): number[] {
  const out: number[] = [];
  const dir = toMHz >= fromMHz ? 1 : -1;
  let f = fromMHz;
  while (dir * (toMHz - f) > 0) {
    f = dir > 0 ? Math.min(toMHz, f + stepMHz) : Math.max(toMHz, f - stepMHz);
    out.push(f);
  }
  return out;
}

/**
 * TICKET_ZEROS for a chip: the largest z whose nonce rate (hashrate × 2^-z) is still at least the wanted rate,
 * so each chip reports a few nonces a second. 0–64.
 */
export function ticketZeros(chipHashrateHs: number, wantedNoncesPerS: number): number {
  if (!(chipHashrateHs > 0) || !(wantedNoncesPerS > 0)) return 0;
  const z = Math.floor(Math.log2(chipHashrateHs / wantedNoncesPerS));
  return Math.max(0, Math.min(64, z));
}

/** Ticket difficulty of TICKET_ZEROS = z: 2^(z−32). */
export const ticketDifficulty = (z: number): number => 2 ** (z - 32);
