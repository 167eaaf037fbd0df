import { HashMeter } from '../monitor/meter.js';

/** Per-chip statistics, fed only by verified nonce replies and register polls. */
export interface ChipStats {
  index: number;
  address: number;
  /** replies received from this chip, good or bad */
  replies: number;
  nonces: number;
  hwErrors: number;
  stale: number;
  lastNonceMs: number;
  silent: boolean;
  /** replies the chip sent (NONCE_COUNT) that never arrived */
  lost: number;
  nonceCountBase: number | undefined;
  repliesBase: number | undefined;
  meter: HashMeter;
}

export function newChipStats(index: number, address: number): ChipStats {
  return {
    index,
    address,
    replies: 0,
    nonces: 0,
    hwErrors: 0,
    stale: 0,
    lastNonceMs: 0,
    silent: false,
    lost: 0,
    nonceCountBase: undefined,
    repliesBase: undefined,
    // compact: a meter per chip, and a chip's work is powers of two (see HashMeter)
    meter: new HashMeter(Date.now, 900, true),
  };
}
