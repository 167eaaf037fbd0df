import { JOB_FRAME_BYTES } from '../device/maijie-l7/frames.js';
import { versionSpace } from '../pool/work/work.js';

/**
 * What it takes to keep a chain's chips fed at their real speed (contract: a chip walks its nonce range, interval ×
 * 2^24, for every version it may roll, then idles until new work). The figures come from what the daemon reads:
 * HASH_INFO's cores (at shift 0 — the real chip, not the scale model), each chip's frequency, the UART's baud and
 * the pool's version mask.
 */

/** Bits on the wire per byte: start, 8 data, stop. */
const UART_BITS_PER_BYTE = 10;

/** Time a chip needs to walk one job (ms) at `freqMHz` with `cores` hashing one nonce per clock each. */
export function chipWalkMs(interval: number, versionMask: number, freqMHz: number, cores: number): number {
  const rateHs = freqMHz * 1e6 * cores;
  if (!(rateHs > 0)) return Number.POSITIVE_INFINITY;
  return ((interval * 2 ** 24 * versionSpace(versionMask)) / rateHs) * 1000;
}

/** Time one job frame takes on the UART (ms). */
export function uartMsPerJob(baud: number): number {
  return ((JOB_FRAME_BYTES * UART_BITS_PER_BYTE) / baud) * 1000;
}

/**
 * When to send the next work: at half the walk time of the fastest chip less the frame's time on the wire, so a
 * late timer (a loaded host) still has the other half to spare; within [minMs, capMs].
 */
export function refreshMsFor(fastestWalkMs: number, uartMs: number, minMs: number, capMs: number): number {
  if (!Number.isFinite(fastestWalkMs)) return capMs;
  return Math.max(minMs, Math.min(capMs, fastestWalkMs / 2 - uartMs));
}

/**
 * The share of its hash rate a board can reach at best: one job per walk is needed, and each costs a frame on the
 * UART and a work generated on the host; whichever is slower bounds how many jobs a second the chain gets.
 */
export function reachableShare(walkMs: number, uartMs: number, workGenMs: number): number {
  const perJobMs = Math.max(uartMs, workGenMs);
  if (!(perJobMs > 0)) return 1;
  return Math.min(1, walkMs / perJobMs);
}

/**
 * The daemon's prediction of the time its chips spend exhausted: from the jobs it actually sent (when, and how long
 * each chip needed to walk each), the same account the chips keep.
 */
export class FeedTracker {
  private sinceMs = 0;
  private lastSentMs = 0;
  private walks: readonly number[] = [];
  /** chip-milliseconds spent exhausted before the last job */
  private idleChipMs = 0;

  /** A job reached the chain; `walkMs[i]` is chip i's time to walk it. */
  sent(now: number, walkMs: readonly number[]): void {
    if (this.sinceMs === 0) this.sinceMs = now;
    else this.idleChipMs += this.idleSince(now);
    this.lastSentMs = now;
    this.walks = walkMs;
  }

  private idleSince(now: number): number {
    const gap = now - this.lastSentMs;
    let idle = 0;
    for (const w of this.walks) idle += Math.max(0, gap - w);
    return idle;
  }

  /** Share of chip time spent exhausted since the first job (0…1). */
  idleShare(now: number): number {
    const chips = this.walks.length;
    const spanMs = now - this.sinceMs;
    if (this.sinceMs === 0 || chips === 0 || spanMs <= 0) return 0;
    return (this.idleChipMs + this.idleSince(now)) / (spanMs * chips);
  }

  /** The chips lost their work (power cycle): a fresh account. */
  reset(): void {
    this.sinceMs = 0;
    this.lastSentMs = 0;
    this.walks = [];
    this.idleChipMs = 0;
  }
}

/**
 * Whether a pool lets the chips roll version bits (BIP 310): 'granted', 'not granted' (the pool answered
 * `mining.configure` without a mask — the chips then need a new job per nonce range, which no host can send fast
 * enough), 'off' (not asked for in the configuration) or 'unknown' (no session yet).
 */
export type VersionRollingStatus = 'granted' | 'not granted' | 'off' | 'unknown';

export function versionRollingStatus(asked: boolean, ready: boolean, grantedMask: number): VersionRollingStatus {
  if (!asked) return 'off';
  if (!ready) return 'unknown';
  return grantedMask !== 0 ? 'granted' : 'not granted';
}
