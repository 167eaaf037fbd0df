import { createHash } from 'node:crypto';

// Shared by the miner side and the test pool: only SHA-256d and the difficulty-1 constant (see src/sim/pool).

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

export function sha256d(data: Uint8Array): Buffer {
  return createHash('sha256').update(createHash('sha256').update(data).digest()).digest();
}

/** The difficulty-1 target (bdiff): 0x00000000FFFF0000…0000. */
export const DIFF1_TARGET = 0xffffn << 208n;
