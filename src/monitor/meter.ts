/**
 * A hash meter: work (in hashes) added as it is verified, read as rates over sliding windows. One-second buckets in
 * a ring, so adding is O(1) and reading a window is O(window seconds).
 */
export class HashMeter {
  private readonly buckets: Float64Array | Float32Array;
  private headSec: number;
  private total = 0;
  private startMs: number;

  /**
   * `compact`: one-second buckets in 32-bit floats, half the memory (a meter per chip: 228 chips × 900 s is 1.6 MB in
   * doubles). The work chips report is powers of two (2^32 × a ticket difficulty that is itself one), so a bucket's
   * sum is exact while its addends stay within 2^24 of each other (tickets less than 24 zeros apart in one second);
   * past that a sum rounds by at most 2^-24 of itself per addition. The total stays a double.
   */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly spanS = 900,
    compact = false,
  ) {
    this.buckets = compact ? new Float32Array(spanS) : new Float64Array(spanS);
    this.startMs = now();
    this.headSec = Math.floor(this.startMs / 1000);
  }

  /** When measuring began: construction, or begin(). */
  get startedMs(): number {
    return this.startMs;
  }

  /**
   * Measuring begins now (a board starts mining): time before it, spent bringing the board up, would read as zero
   * hash rate. Once work has been counted the start stays where it is.
   */
  begin(nowMs = this.now()): void {
    if (this.total > 0) return;
    this.startMs = nowMs;
    this.headSec = Math.floor(nowMs / 1000);
    this.buckets.fill(0);
  }

  private advance(sec: number): void {
    if (sec <= this.headSec) return;
    const steps = Math.min(this.spanS, sec - this.headSec);
    for (let i = 1; i <= steps; i++) this.buckets[(this.headSec + i) % this.spanS] = 0;
    this.headSec = sec;
  }

  /** Adds work; `nowMs` lets a caller that already read the clock pass it in. */
  add(hashes: number, nowMs = this.now()): void {
    const sec = Math.floor(nowMs / 1000);
    this.advance(sec);
    this.buckets[sec % this.spanS] += hashes;
    this.total += hashes;
  }

  /** Hashes per second over the last `windowS` seconds (or since start, when younger). */
  rate(windowS: number): number {
    const nowMs = this.now();
    const sec = Math.floor(nowMs / 1000);
    this.advance(sec);
    const w = Math.min(windowS, this.spanS);
    let sum = 0;
    for (let i = 0; i < w; i++) sum += this.buckets[(sec - i + this.spanS * 2) % this.spanS];
    // the current bucket is partial: measure the window in real time, and never longer than we have run
    const spanMs = Math.min((w - 1) * 1000 + (nowMs % 1000), nowMs - this.startMs);
    return spanMs > 0 ? sum / (spanMs / 1000) : 0;
  }

  /** Average since start. */
  average(): number {
    const s = (this.now() - this.startMs) / 1000;
    return s > 0 ? this.total / s : 0;
  }

  get totalHashes(): number {
    return this.total;
  }

  windows(): { h5s: number; h1m: number; h5m: number; h15m: number; avg: number } {
    return { h5s: this.rate(5), h1m: this.rate(60), h5m: this.rate(300), h15m: this.rate(900), avg: this.average() };
  }
}
