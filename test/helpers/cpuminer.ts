import { sha256d } from '../../src/pool/work/hash.js';
import { difficultyOfHash, meetsTarget } from '../../src/pool/work/target.js';
import { buildHeader, type Job, makeWork, rollVersion, type Share } from '../../src/pool/work/work.js';

/** Finds one share for a job by brute force on the CPU (tests use tiny difficulties). */
export function cpuMine(
  job: Job,
  en2Value: number,
  opts: { rollN?: number; maxTries?: number } = {},
): Share | undefined {
  const en2 = Buffer.alloc(job.extranonce2Size);
  en2.writeUIntLE(en2Value, 0, Math.min(6, job.extranonce2Size));
  const work = makeWork(job, en2);
  const version = job.versionMask ? rollVersion(job.version, job.versionMask, opts.rollN ?? 1) : job.version;
  const max = opts.maxTries ?? 5_000_000;
  for (let nonce = 0; nonce < max; nonce++) {
    const hash = sha256d(buildHeader(work, nonce, version));
    if (meetsTarget(hash, work.shareTargetLe)) {
      return {
        poolId: job.poolId,
        jobId: job.jobId,
        extranonce2: en2.toString('hex'),
        ntime: job.ntime,
        nonce,
        version,
        versionBits: job.versionMask ? (version & job.versionMask) >>> 0 : undefined,
        difficulty: difficultyOfHash(hash),
        targetDifficulty: job.difficulty,
        foundAtMs: Date.now(),
      };
    }
  }
  return undefined;
}
