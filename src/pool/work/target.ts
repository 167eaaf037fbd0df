import { DIFF1_TARGET } from './hash.js';

const MAX_TARGET = (1n << 256n) - 1n;

/** Exact decomposition of a finite positive double: value = m × 2^e with integer m. */
function decompose(x: number): { m: bigint; e: number } {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const exp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (exp === 0) return { m, e: -1074 };
  m |= 1n << 52n;
  return { m, e: exp - 1075 };
}

export class DifficultyError extends Error {
  readonly code = 'EDIFFICULTY';
}

/** Target for a pool difficulty (fractional difficulties included), exact: DIFF1 / difficulty, floored. */
export function targetFromDifficulty(difficulty: number): bigint {
  if (!Number.isFinite(difficulty) || difficulty <= 0) {
    throw new DifficultyError(`difficulty must be a finite number above 0, got ${difficulty}`);
  }
  const { m, e } = decompose(difficulty);
  const t = e >= 0 ? DIFF1_TARGET / (m << BigInt(e)) : (DIFF1_TARGET << BigInt(-e)) / m;
  return t > MAX_TARGET ? MAX_TARGET : t;
}

/** Reads a 32-byte hash as the 256-bit little-endian number Bitcoin compares with targets. */
export function hashToBigInt(hash: Uint8Array): bigint {
  let v = 0n;
  for (let i = 31; i >= 0; i--) v = (v << 8n) | BigInt(hash[i]);
  return v;
}

/** Share difficulty of a hash: DIFF1 / hash. */
export function difficultyOfHash(hash: Uint8Array): number {
  const v = hashToBigInt(hash);
  if (v === 0n) return Number.POSITIVE_INFINITY;
  // Scale both sides so the division keeps ~53 bits of precision before the float conversion.
  const shift = 64n;
  return Number((DIFF1_TARGET << shift) / v) / 2 ** 64;
}

/** Target as 32 little-endian bytes, for the fast comparison below. */
export function targetToLeBytes(target: bigint): Buffer {
  const out = Buffer.alloc(32);
  let t = target;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  return out;
}

/** hash ≤ target, both little-endian 32-byte numbers; no bigint on the hot path. */
export function meetsTarget(hash: Uint8Array, targetLe: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (hash[i] !== targetLe[i]) return hash[i] < targetLe[i];
  }
  return true;
}

/** Leading zero bits of a hash read as a little-endian 256-bit number (the chips' TICKET_ZEROS test). */
export function leadingZeroBits(hash: Uint8Array): number {
  let n = 0;
  for (let i = 31; i >= 0; i--) {
    const b = hash[i];
    if (b === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(b) - 24;
  }
  return n;
}
