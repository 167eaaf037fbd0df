// The tuner's statistics: when a chip has shown, with a stated confidence, that it holds a frequency.
//
// Hardware errors are Bernoulli trials (each reply is good or bad). Wald's sequential probability ratio test (SPRT)
// weighs H0 "error rate ≤ p0" (p0 = max_hw_error_rate) against H1 "error rate ≥ p1" (p1 = 4 × p0), with α (false
// fail) and β (false pass) both 5 %. A chip with no errors passes after ln((1−α)/β) / −ln((1−p1)/(1−p0)) replies:
// 488 for p0 = 0.2 %. Each error pushes the log-likelihood ratio up by ln(p1/p0) = ln 4, so a chip well past its
// limit fails within a few errors. A test that has decided nothing after 4 × the passing count is a fail: a chip
// that errs at a rate between p0 and p1 has not shown that it holds the step, and backing off is the safe side.
//
// The rate check catches chips that stop answering (past their limit by far, or dead): replies are Poisson with the
// mean the frequency and ticket predict; a count below what that mean makes less likely than 1 in 1000 fails.

export interface ErrorTest {
  p0: number;
  p1: number;
  alpha: number;
  beta: number;
}

export type Verdict = 'pass' | 'fail' | 'more';

/** Error rates below this are not told apart from zero within a tuning step; a max of 0 is treated as this. */
const MIN_P0 = 1e-4;
const P1_OVER_P0 = 4;
const TRUNCATE_FACTOR = 4;
/** A reply count this unlikely under the predicted mean means the chip is not hashing fully. */
const RATE_ALPHA = 1e-3;
/** Below this many predicted replies the rate check says nothing (a silent second is no evidence). */
const RATE_MIN_EXPECTED = 10;

export function errorTest(maxHwErrorRate: number, alpha = 0.05, beta = 0.05): ErrorTest {
  const p0 = Math.max(MIN_P0, maxHwErrorRate);
  return { p0, p1: Math.min(0.5, p0 * P1_OVER_P0), alpha, beta };
}

/** β of a search step's test (below). */
const SEARCH_BETA = 0.2;

/**
 * A search step's test: the same hypotheses and the same α (a false fail sets a chip's limit too low, and nothing
 * later raises it), but β = 20 %: a false pass only sets a limit too high, and the validation that follows every
 * search tests each chip again at its tuned frequency with the full test (β = 5 %), backing it off when it fails.
 * A clean chip passes a search step after 259 replies at p0 = 0.2 % instead of 489.
 */
export function searchTest(maxHwErrorRate: number): ErrorTest {
  return errorTest(maxHwErrorRate, 0.05, SEARCH_BETA);
}

/** Log-likelihood ratio of H1 over H0 after `good` good and `bad` bad replies. */
export function logLikelihoodRatio(t: ErrorTest, good: number, bad: number): number {
  return bad * Math.log(t.p1 / t.p0) + good * Math.log((1 - t.p1) / (1 - t.p0));
}

/** Replies a chip with no errors needs to pass: why a tuning step takes as long as it does. */
export function repliesToPass(t: ErrorTest): number {
  return Math.ceil(Math.log(t.beta / (1 - t.alpha)) / Math.log((1 - t.p1) / (1 - t.p0)));
}

/** The SPRT's verdict on the replies so far (truncated at 4 × repliesToPass). */
export function sprt(t: ErrorTest, good: number, bad: number): Verdict {
  const llr = logLikelihoodRatio(t, good, bad);
  if (llr >= Math.log((1 - t.beta) / t.alpha)) return 'fail';
  if (llr <= Math.log(t.beta / (1 - t.alpha))) return 'pass';
  if (good + bad >= TRUNCATE_FACTOR * repliesToPass(t)) return 'fail';
  return 'more';
}

/** P(K ≤ k) for K ~ Poisson(mean), summed in log space so large means do not underflow. */
export function poissonCdf(k: number, mean: number): number {
  if (mean <= 0) return 1;
  if (k < 0) return 0;
  let logTerm = -mean;
  let logSum = logTerm;
  for (let i = 1; i <= k; i++) {
    logTerm += Math.log(mean / i);
    const hi = Math.max(logSum, logTerm);
    logSum = hi + Math.log(Math.exp(logSum - hi) + Math.exp(logTerm - hi));
  }
  return Math.min(1, Math.exp(logSum));
}

/** A chip must fall this far short: replies arrive in bursts (a busy link or host), silence does not. */
const RATE_SHORTFALL = 0.25;

/**
 * True when `replies` are too few for `expected`: under a quarter of them, and that unlikely (Poisson). It catches
 * a chip that stopped answering; a chip that merely errs keeps its rate and is the SPRT's to judge.
 */
export function rateTooLow(replies: number, expected: number): boolean {
  return (
    expected >= RATE_MIN_EXPECTED && replies < RATE_SHORTFALL * expected && poissonCdf(replies, expected) < RATE_ALPHA
  );
}
