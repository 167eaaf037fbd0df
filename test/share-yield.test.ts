// The share-yield verdict on its own: healthy pools at any share rate are never called short; a pool keeping a
// third of the shares is, as soon as the statistics allow and no sooner.
import t from 'tap';
import { poissonLowerTailBound, ShareYield } from '../src/pool/manager/share-yield.js';

/** A small deterministic generator (mulberry32), so the test is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

t.test('the Chernoff bound is an upper bound of the exact Poisson lower tail', async (t) => {
  for (const lambda of [1, 5, 20, 100, 700]) {
    let term = Math.exp(-lambda);
    let cdf = 0;
    for (let k = 0; k < lambda; k++) {
      cdf += term;
      t.ok(poissonLowerTailBound(k, lambda) >= cdf * (1 - 1e-9), `k=${k} λ=${lambda}`);
      term *= lambda / (k + 1);
    }
  }
  t.equal(poissonLowerTailBound(10, 5), 1, 'at or above the mean: 1');
});

/** Simulates 20 minutes of nonces at `noncesPerS` (each a share with probability `p`), accepting `keep` of shares. */
function run(seed: number, noncesPerS: number, p: number, keep: number): { shortAtS: number } {
  const rand = rng(seed);
  const y = new ShareYield();
  const difficulty = 1;
  const hashes = p * 2 ** 32 * difficulty;
  for (let s = 0; s < 1200; s++) {
    const now = s * 1000;
    for (let i = 0; i < noncesPerS; i++) {
      y.addWork(hashes, difficulty, now);
      if (rand() < p && rand() < keep) y.addAccepted(now);
    }
    if (y.verdict(0, now).short) return { shortAtS: s };
  }
  return { shortAtS: -1 };
}

t.test('a healthy pool is never short, from one share a minute to a hundred a second', async (t) => {
  let looks = 0;
  for (const [perS, p] of [
    [1, 1 / 60],
    [10, 0.1],
    [100, 0.5],
    [200, 0.5],
  ] as const) {
    for (let seed = 1; seed <= 25; seed++) {
      t.equal(run(seed, perS, p, 1).shortAtS, -1, `${perS} nonces/s at p ${p}, seed ${seed}`);
      looks += 1200;
    }
  }
  t.comment(`${looks} looks, none short`);
});

t.test('a pool keeping a third of the shares is short once the numbers say so', async (t) => {
  const fast = run(7, 100, 0.5, 1 / 3);
  t.ok(fast.shortAtS >= 0 && fast.shortAtS <= 3, `at 50 shares/s: short after ${fast.shortAtS} s`);
  const slow = run(7, 1, 0.1, 1 / 3);
  t.ok(slow.shortAtS > 60, `at one share in 10 s: not before the numbers allow (${slow.shortAtS} s)`);
  t.ok(slow.shortAtS > 0, 'but within the 10-minute window');
  t.equal(run(7, 1, 1 / 600, 1 / 3).shortAtS, -1, 'at one share in 10 minutes: too few to judge, never short');
});

t.test('pending and unanswered shares count as accepted', async (t) => {
  const y = new ShareYield();
  for (let i = 0; i < 100; i++) y.addWork(2 ** 32, 1, 0);
  t.equal(y.verdict(0, 0).short, true, '100 expected, none answered: short');
  t.equal(y.verdict(100, 0).short, false, '100 expected, 100 in flight: not short');
  for (let i = 0; i < 100; i++) y.addUnjudged(0);
  t.equal(y.verdict(0, 0).short, false, '100 expected, 100 that got no answer (the black hole rule judges those)');
  t.equal(y.verdict(0, 0).accepted, 0, 'and not shown as accepted');
  y.reset();
  t.equal(y.verdict(0, 0).expected, 0, 'reset empties the window');
});
