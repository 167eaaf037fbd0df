import { createHash } from 'node:crypto';
import { sha256d } from './hash.js';
import { targetFromDifficulty, targetToLeBytes } from './target.js';

/** What a pool asked for (mining.notify), with the session state that applies to it. */
export interface Job {
  /** the pool manager's id of the pool */
  poolId: number;
  jobId: string;
  /** prevhash as sent by the pool (eight 4-byte words, each word byte-swapped). */
  prevHashHex: string;
  coinb1: Buffer;
  coinb2: Buffer;
  merkleBranch: Buffer[];
  version: number;
  nbits: number;
  ntime: number;
  cleanJobs: boolean;
  extranonce1: Buffer;
  extranonce2Size: number;
  difficulty: number;
  /** Version bits we may roll (0 = none). */
  versionMask: number;
  receivedAtMs: number;
  /** the connection lineage it came on (a resumed session keeps its lineage); absent outside a pool client */
  lineage?: number;
}

/** One unit of work for a chain: a job with its extranonce2 fixed, so the header is known but for nonce/version. */
export interface Work {
  job: Job;
  extranonce2: Buffer;
  merkleRoot: Buffer;
  /** Header prev hash bytes in header order. */
  prevHash: Buffer;
  version: number;
  nbits: number;
  ntime: number;
  /** Pool share target, little-endian bytes. */
  shareTargetLe: Buffer;
}

/** A result that meets the pool target: everything `mining.submit` needs. */
export interface Share {
  poolId: number;
  jobId: string;
  extranonce2: string;
  ntime: number;
  nonce: number;
  version: number;
  /** version bits rolled relative to the job, within the mask (BIP310 submit parameter); undefined without rolling */
  versionBits: number | undefined;
  difficulty: number;
  /** Difficulty the pool asked for when the job was issued. */
  targetDifficulty: number;
  foundAtMs: number;
  /** board that found it, for per-board share statistics */
  board?: number;
  /** the connection lineage of its job (a set_extranonce starts a new one): an answer after a newer one is not judged */
  lineage?: number;
}

export class WorkError extends Error {
  readonly code = 'EWORK';
}

/** Stratum prevhash → header bytes: each 4-byte word is byte-swapped. */
export function prevHashFromStratum(hex: string): Buffer {
  const b = Buffer.from(hex, 'hex');
  if (b.length !== 32) throw new WorkError(`prevhash must be 32 bytes, got ${b.length}`);
  for (let i = 0; i < 32; i += 4) b.writeUInt32LE(b.readUInt32BE(i), i);
  return b;
}

export function encodeExtranonce2(value: number | bigint, size: number): Buffer {
  const out = Buffer.alloc(size);
  let v = BigInt(value);
  if (v < 0n || v >= 1n << BigInt(8 * size)) throw new WorkError(`extranonce2 ${value} does not fit in ${size} bytes`);
  for (let i = 0; i < size; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function merkleRoot(coinbaseHash: Buffer, branch: readonly Buffer[]): Buffer {
  let root = coinbaseHash;
  const pair = Buffer.alloc(64);
  for (const b of branch) {
    root.copy(pair, 0);
    b.copy(pair, 32);
    root = sha256d(pair);
  }
  return root;
}

/** Coinbase hash without building the concatenated buffer: one incremental hash over its four parts. */
export function coinbaseHash(job: Job, extranonce2: Buffer): Buffer {
  const first = createHash('sha256')
    .update(job.coinb1)
    .update(job.extranonce1)
    .update(extranonce2)
    .update(job.coinb2)
    .digest();
  return createHash('sha256').update(first).digest();
}

/** What every work of a job shares, computed once per job. */
const perJob = new WeakMap<Job, { prevHash: Buffer; shareTargetLe: Buffer }>();

export function makeWork(job: Job, extranonce2: Buffer): Work {
  if (extranonce2.length !== job.extranonce2Size) {
    throw new WorkError(`extranonce2 is ${extranonce2.length} bytes, the pool wants ${job.extranonce2Size}`);
  }
  let fixed = perJob.get(job);
  if (!fixed) {
    fixed = {
      prevHash: prevHashFromStratum(job.prevHashHex),
      shareTargetLe: targetToLeBytes(targetFromDifficulty(job.difficulty)),
    };
    perJob.set(job, fixed);
  }
  return {
    job,
    extranonce2,
    merkleRoot: merkleRoot(coinbaseHash(job, extranonce2), job.merkleBranch),
    prevHash: fixed.prevHash,
    version: job.version,
    nbits: job.nbits,
    ntime: job.ntime,
    shareTargetLe: fixed.shareTargetLe,
  };
}

/** The 80-byte block header. */
export function buildHeader(work: Work, nonce: number, version = work.version, ntime = work.ntime): Buffer {
  const h = Buffer.allocUnsafe(80);
  h.writeUInt32LE(version >>> 0, 0);
  work.prevHash.copy(h, 4);
  work.merkleRoot.copy(h, 36);
  h.writeUInt32LE(ntime >>> 0, 68);
  h.writeUInt32LE(work.nbits >>> 0, 72);
  h.writeUInt32LE(nonce >>> 0, 76);
  return h;
}

/** The n-th version in the rolling space: n's bits deposited into the mask's bits, ORed over the base (as chips do). */
export function rollVersion(base: number, mask: number, n: number): number {
  let bits = 0;
  let k = n;
  for (let i = 0; i < 32 && k > 0; i++) {
    if (mask & (1 << i)) {
      if (k & 1) bits |= 1 << i;
      k = Math.floor(k / 2);
    }
  }
  return (base | bits) >>> 0;
}

/** Number of distinct versions a mask allows. */
export function versionSpace(mask: number): number {
  let bits = 0;
  for (let m = mask >>> 0; m; m &= m - 1) bits++;
  return 2 ** bits;
}

/**
 * Hands out extranonce2 values for one job so that no two consumers (chains) ever get the same work:
 * consumer i of n takes i, i + n, i + 2n, … Returns undefined once its share of the space is spent.
 */
export class Extranonce2Counter {
  private next: bigint;
  private readonly limit: bigint;
  private readonly step: bigint;

  constructor(
    private readonly size: number,
    consumer: number,
    consumers: number,
  ) {
    if (consumer < 0 || consumer >= consumers) throw new WorkError(`consumer ${consumer} is not below ${consumers}`);
    this.next = BigInt(consumer);
    this.step = BigInt(consumers);
    this.limit = 1n << BigInt(8 * size);
  }

  take(): Buffer | undefined {
    if (this.next >= this.limit) return undefined;
    const v = this.next;
    this.next += this.step;
    return encodeExtranonce2(v, this.size);
  }
}
