// Shared by the benchmarks: run a body repeatedly for a time budget, report operations per second, median of runs.
import { randomBytes } from 'node:crypto';
import type { Job } from '../src/pool/work/work.js';

/** A mainnet-shaped job of random content: 13 merkle branches, an 8-byte extranonce2, the usual version mask. */
export function benchJob(versionMask = 0x1fffe000): Job {
  return {
    poolId: 0,
    jobId: '1',
    prevHashHex: randomBytes(32).toString('hex'),
    coinb1: randomBytes(100),
    coinb2: randomBytes(160),
    merkleBranch: Array.from({ length: 13 }, () => randomBytes(32)),
    version: 0x20000000,
    nbits: 0x1705ae3a,
    ntime: 0x647025b5,
    cleanJobs: false,
    extranonce1: randomBytes(4),
    extranonce2Size: 8,
    difficulty: 65536,
    versionMask,
    receivedAtMs: 0,
  };
}

export function opsPerSecond(body: (n: number) => void, ms = 400): number {
  // warm up so the JIT has settled before timing
  for (let i = 0; i < 2000; i++) body(i);
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let k = 0; k < 256; k++) body(n++);
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export function runs<T>(n: number, f: () => T): T[] {
  return Array.from({ length: n }, f);
}

export function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(1);
}
