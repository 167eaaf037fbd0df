interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * Token buckets: one per client address and one for all of them. A request takes a token from both; buckets refill
 * at their rate and hold at most twice it (a burst). The address table is bounded: when full it is cleared, which
 * only forgives, never blocks.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly total: Bucket;

  constructor(
    private readonly perAddressPerS: number,
    private readonly totalPerS: number,
    private readonly maxAddresses = 10_000,
  ) {
    this.total = { tokens: totalPerS * 2, atMs: Date.now() };
  }

  take(address: string): boolean {
    const now = Date.now();
    let b = this.buckets.get(address);
    if (!b) {
      if (this.buckets.size >= this.maxAddresses) this.buckets.clear();
      b = { tokens: this.perAddressPerS * 2, atMs: now };
      this.buckets.set(address, b);
    }
    refill(b, this.perAddressPerS, now);
    refill(this.total, this.totalPerS, now);
    if (b.tokens < 1 || this.total.tokens < 1) return false;
    b.tokens--;
    this.total.tokens--;
    return true;
  }
}

function refill(b: Bucket, perS: number, now: number): void {
  b.tokens = Math.min(perS * 2, b.tokens + ((now - b.atMs) / 1000) * perS);
  b.atMs = now;
}
