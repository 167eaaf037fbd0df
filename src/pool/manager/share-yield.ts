/**
 * A pool's share yield: the shares it accepted against the shares the work done for it should have produced.
 *
 * Every verified nonce stands for `hashes` of work; at share difficulty D it is a share with probability
 * min(1, hashes / (2^32 · D)). Summed over the nonces of a window that is the expected share count λ, and the shares
 * the pool accepts (plus those still in flight) are Poisson(λ) when all is well. A pool that rejects shares now and
 * then (never `reject_limit` in a row) or whose jobs yield fewer shares than their difficulty promises,
 * falls short of λ. The verdict is "short" only when fewer than 80 % of the expected shares came back AND the Chernoff
 * bound of the Poisson lower tail, P(X ≤ k) ≤ exp(k − λ − k·ln(k/λ)), is under 1e-6: bad luck does not move mining.
 * With nothing accepted that takes λ ≥ 14 expected shares; with a third of them accepted, λ ≥ 46; with half, λ ≥ 90;
 * at 80 %, λ ≥ 640 (so a pool that loses a fifth of a slow share rate is not judged within the window). Three windows are
 * judged (30 s, 2 min, 10 min), so a healthy pool is called short with a probability under 3e-6 a look.
 *
 * Some shares are not judged here, counted as accepted as a share still in flight is (so accepted, unjudged and
 * pending together are Poisson(λ) for a healthy pool): one that got no answer at all (its connection failed, its submit
 * timed out), which the dead and black-hole rules judge, else a pool unreachable for a few seconds would be condemned
 * once it is back; and one refused for a difficulty the pool announced after its job (a pool enforcing set_difficulty at
 * once), which the miner answers by mining the job at that difficulty.
 */

/** The window: six 10-second buckets a minute, for ten minutes. */
const BUCKET_MS = 10_000;
const BUCKETS = 60;
/** Fewer than this share of the expected shares: short (a few stale shares at a block change are not). */
export const YIELD_SHORT_RATIO = 0.8;
/** The tail probability under which a shortfall is not bad luck. */
export const YIELD_ALPHA = 1e-6;

export interface YieldVerdict {
  expected: number;
  accepted: number;
  /** shares not judged (no answer; refused for a difficulty announced after their job): counted as accepted */
  unjudged: number;
  /** upper bound of P(X ≤ accepted) for X ~ Poisson(expected); 1 when accepted ≥ expected */
  pBound: number;
  short: boolean;
}

/** Upper bound of the Poisson lower tail P(X ≤ k), λ the mean (Chernoff); 1 at or above the mean. */
export function poissonLowerTailBound(k: number, lambda: number): number {
  if (k >= lambda) return 1;
  if (k <= 0) return Math.exp(-lambda);
  return Math.exp(k - lambda - k * Math.log(k / lambda));
}

export class ShareYield {
  private readonly expected = new Float64Array(BUCKETS);
  private readonly accepted = new Float64Array(BUCKETS);
  private readonly unjudged = new Float64Array(BUCKETS);
  /** the bucket index (time / BUCKET_MS) each slot last held */
  private readonly slotOf = new Float64Array(BUCKETS).fill(-1);

  private slot(now: number): number {
    const n = Math.floor(now / BUCKET_MS);
    const i = n % BUCKETS;
    if (this.slotOf[i] !== n) {
      this.slotOf[i] = n;
      this.expected[i] = 0;
      this.accepted[i] = 0;
      this.unjudged[i] = 0;
    }
    return i;
  }

  /** Work done for the pool: `hashes` at share difficulty `difficulty`. */
  addWork(hashes: number, difficulty: number, now = Date.now()): void {
    if (!(hashes > 0) || !(difficulty > 0)) return;
    this.expected[this.slot(now)] += Math.min(1, hashes / (2 ** 32 * difficulty));
  }

  /** A share the pool accepted. */
  addAccepted(now = Date.now()): void {
    this.accepted[this.slot(now)] += 1;
  }

  /** A share not judged: it got no answer, or was refused for a difficulty the pool announced after its job. */
  addUnjudged(now = Date.now()): void {
    this.unjudged[this.slot(now)] += 1;
  }

  reset(): void {
    this.slotOf.fill(-1);
    this.expected.fill(0);
    this.accepted.fill(0);
    this.unjudged.fill(0);
  }

  /**
   * The verdict over the last 30 s, 2 min and 10 min: short if any of them is (a pool that turns bad is caught
   * quickly at a high share rate, a slow one over the long window); the figures are those of the window that judged,
   * or of the 10 minutes. `pending` shares (submitted, not answered yet) count as accepted.
   */
  verdict(pending: number, now = Date.now()): YieldVerdict {
    const newest = Math.floor(now / BUCKET_MS);
    let expected = 0;
    let accepted = 0;
    let unjudged = 0;
    let judged: YieldVerdict | undefined;
    // buckets from the newest back, closing a window at 3, 12 and 60 buckets
    for (let age = 0; age < BUCKETS; age++) {
      const n = newest - age;
      const i = ((n % BUCKETS) + BUCKETS) % BUCKETS;
      if (this.slotOf[i] === n) {
        expected += this.expected[i];
        accepted += this.accepted[i];
        unjudged += this.unjudged[i];
      }
      if (age + 1 === 3 || age + 1 === 12 || age + 1 === BUCKETS) {
        const v = judge(expected, accepted, unjudged, pending);
        if (v.short && !judged) judged = v;
      }
    }
    return judged ?? judge(expected, accepted, unjudged, pending);
  }
}

function judge(expected: number, accepted: number, unjudged: number, pending: number): YieldVerdict {
  const k = accepted + unjudged + pending;
  const pBound = poissonLowerTailBound(k, expected);
  return { expected, accepted, unjudged, pBound, short: k < expected * YIELD_SHORT_RATIO && pBound < YIELD_ALPHA };
}
