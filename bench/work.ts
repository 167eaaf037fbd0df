// Work generation and share checking on one core, against raw SHA-256 measured in the same run.
// Run: node --import tsx bench/work.ts
import { createHash, randomBytes } from 'node:crypto';
import { sha256d } from '../src/pool/work/hash.js';
import { difficultyOfHash, meetsTarget } from '../src/pool/work/target.js';
import { buildHeader, encodeExtranonce2, type Job, makeWork } from '../src/pool/work/work.js';
import { benchJob, fmt, median, opsPerSecond, runs } from './lib.js';

const job: Job = benchJob();
const block64 = randomBytes(64);
const work = makeWork(job, encodeExtranonce2(1, 8));

const RUNS = 5;
const sha = runs(RUNS, () => opsPerSecond(() => createHash('sha256').update(block64).digest()));
const works = runs(RUNS, () => opsPerSecond((i) => makeWork(job, encodeExtranonce2(i, 8))));
const headers = runs(RUNS, () => opsPerSecond((i) => buildHeader(work, i)));
const checks = runs(RUNS, () =>
  opsPerSecond((i) => {
    const h = sha256d(buildHeader(work, i));
    if (meetsTarget(h, work.shareTargetLe)) difficultyOfHash(h);
  }),
);
const checksWithDiff = runs(RUNS, () => opsPerSecond((i) => difficultyOfHash(sha256d(buildHeader(work, i)))));

const mSha = median(sha);
const mWork = median(works);
// a 13-branch job costs 15 SHA-256d over small inputs (coinbase + branch) ≈ 30+ compressions
console.log(`raw SHA-256, 64-byte blocks        ${fmt(mSha)}/s  (baseline)`);
console.log(
  `works (en2 → merkle root, 13 br.)  ${fmt(mWork)}/s  ratio ${(mWork / mSha).toFixed(4)} of raw SHA-256 (${(mSha / mWork).toFixed(1)} hashes per work)`,
);
console.log(`headers from work                  ${fmt(median(headers))}/s`);
console.log(`share checks (hdr → SHA256d → cmp) ${fmt(median(checks))}/s  ratio ${(median(checks) / mSha).toFixed(3)}`);
console.log(`share checks with difficulty       ${fmt(median(checksWithDiff))}/s`);
console.log(`median of ${RUNS} runs, one core, node ${process.version}`);
