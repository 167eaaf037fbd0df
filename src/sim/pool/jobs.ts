import { randomBytes } from 'node:crypto';
import { sha256d } from '../../pool/work/hash.js';

// The test pool's own block-template code. It shares nothing with src/pool/work but SHA-256d and the diff-1
// constant, so a header-building bug on the miner's side cannot be hidden by the same bug here.

export interface PoolJob {
  id: string;
  /** Block this job builds on; a new block makes every older job stale. */
  blockSeq: number;
  prevHashStratum: string;
  coinb1: Buffer;
  coinb2: Buffer;
  branch: Buffer[];
  version: number;
  nbits: number;
  ntime: number;
  clean: boolean;
  createdAtMs: number;
}

function varint(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n]);
  const b = Buffer.alloc(3);
  b[0] = 0xfd;
  b.writeUInt16LE(n, 1);
  return b;
}

/** BIP34 height push: minimal little-endian number with its length byte. */
function heightPush(height: number): Buffer {
  const bytes: number[] = [];
  let h = height;
  while (h > 0) {
    bytes.push(h & 0xff);
    h = Math.floor(h / 256);
  }
  if (bytes.length && (bytes[bytes.length - 1] & 0x80) !== 0) bytes.push(0);
  return Buffer.from([bytes.length, ...bytes]);
}

function u64le(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

export interface TemplateOptions {
  extranonce1Size: number;
  extranonce2Size: number;
  branchDepth: number;
  version: number;
  nbits: number;
  tag: string;
}

/**
 * Makes realistic jobs: a segwit-era coinbase (BIP34 height, pool tag, extranonce space, a payout output and the
 * witness commitment), a merkle branch of the configured depth, a prevhash per block.
 */
export class JobFactory {
  private blockSeq = 0;
  private height = 840000;
  private prevHash = randomBytes(32).toString('hex');
  private jobSeq = 0;
  private witnessCommitment = randomBytes(32);

  constructor(private readonly o: TemplateOptions) {}

  newBlock(): void {
    this.blockSeq++;
    this.height++;
    this.prevHash = randomBytes(32).toString('hex');
    this.witnessCommitment = randomBytes(32);
  }

  get currentBlock(): number {
    return this.blockSeq;
  }

  make(clean: boolean): PoolJob {
    this.jobSeq++;
    const tag = Buffer.from(`/${this.o.tag}/${this.jobSeq}/`, 'ascii');
    const hp = heightPush(this.height);
    const enLen = this.o.extranonce1Size + this.o.extranonce2Size;
    const scriptLen = hp.length + tag.length + enLen;
    const coinb1 = Buffer.concat([
      Buffer.from('01000000', 'hex'), // tx version
      Buffer.from([1]), // one input
      Buffer.alloc(32), // null prevout hash
      Buffer.from('ffffffff', 'hex'), // prevout index
      varint(scriptLen),
      hp,
      tag,
    ]);
    const payout = Buffer.concat([u64le(312500000n), varint(22), Buffer.from('0014', 'hex'), randomBytes(20)]);
    const commitScript = Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), this.witnessCommitment]);
    const commitment = Buffer.concat([u64le(0n), varint(commitScript.length), commitScript]);
    const coinb2 = Buffer.concat([
      Buffer.from('ffffffff', 'hex'), // sequence
      Buffer.from([2]), // outputs
      payout,
      commitment,
      Buffer.from('00000000', 'hex'), // lock time
    ]);
    const branch = Array.from({ length: this.o.branchDepth }, () => sha256d(randomBytes(64)));
    return {
      id: (this.jobSeq & 0xffffffff).toString(16),
      blockSeq: this.blockSeq,
      prevHashStratum: this.prevHash,
      coinb1,
      coinb2,
      branch,
      version: this.o.version,
      nbits: this.o.nbits,
      ntime: Math.floor(Date.now() / 1000),
      clean,
      createdAtMs: Date.now(),
    };
  }
}

/** Rebuilds the 80-byte header of a submitted share from scratch (pool side). */
export function poolHeader(
  job: PoolJob,
  extranonce1: Buffer,
  extranonce2: Buffer,
  ntime: number,
  nonce: number,
  version: number,
): Buffer {
  let root = sha256d(Buffer.concat([job.coinb1, extranonce1, extranonce2, job.coinb2]));
  for (const b of job.branch) root = sha256d(Buffer.concat([root, b]));
  const header = Buffer.alloc(80);
  header.writeUInt32LE(version >>> 0, 0);
  // Stratum's prevhash: eight 32-bit words, each sent big-endian; the header wants each little-endian.
  const prev = Buffer.from(job.prevHashStratum, 'hex');
  for (let w = 0; w < 8; w++) {
    for (let k = 0; k < 4; k++) header[4 + w * 4 + k] = prev[w * 4 + (3 - k)];
  }
  root.copy(header, 36);
  header.writeUInt32LE(ntime >>> 0, 68);
  header.writeUInt32LE(job.nbits >>> 0, 72);
  header.writeUInt32LE(nonce >>> 0, 76);
  return header;
}
