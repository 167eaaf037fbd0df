import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { DIFF1_TARGET, sha256d } from '../src/pool/work/hash.js';
import {
  difficultyOfHash,
  hashToBigInt,
  leadingZeroBits,
  meetsTarget,
  targetFromDifficulty,
  targetToLeBytes,
} from '../src/pool/work/target.js';
import {
  buildHeader,
  Extranonce2Counter,
  encodeExtranonce2,
  type Job,
  makeWork,
  rollVersion,
  versionSpace,
} from '../src/pool/work/work.js';
import { FIXTURES } from './helpers/proc.js';

interface Vectors {
  vectors: {
    name: string;
    notify?: {
      job_id: string;
      prevhash: string;
      coinb1: string;
      coinb2: string;
      merkle_branch: string[];
      version: string;
      nbits: string;
      ntime: string;
      clean_jobs: boolean;
    };
    extranonce1?: string;
    extranonce2?: string;
    prevhash?: string;
    merkle_root_raw?: string;
    version?: string;
    nbits?: string;
    ntime?: string;
    nonce: string;
    expect: { merkle_root_raw?: string; header_hex: string; hash_hex_display: string; share_difficulty: number };
  }[];
  extranonce2_encoding: { value: number; size: number; hex: string }[];
  version_rolling: { base: string; mask: string; next: string[] };
}
export const V: Vectors = JSON.parse(readFileSync(join(FIXTURES, 'vectors/mining.json'), 'utf8'));

const hex32 = (h: string) => Number.parseInt(h, 16) >>> 0;

t.test('notify → work → header → hash, per vector', async (t) => {
  for (const v of V.vectors) {
    const n = v.notify;
    if (!n || !v.extranonce1 || !v.extranonce2) continue;
    const job: Job = {
      poolId: 0,
      jobId: n.job_id,
      prevHashHex: n.prevhash,
      coinb1: Buffer.from(n.coinb1, 'hex'),
      coinb2: Buffer.from(n.coinb2, 'hex'),
      merkleBranch: n.merkle_branch.map((b) => Buffer.from(b, 'hex')),
      version: hex32(n.version),
      nbits: hex32(n.nbits),
      ntime: hex32(n.ntime),
      cleanJobs: n.clean_jobs,
      extranonce1: Buffer.from(v.extranonce1, 'hex'),
      extranonce2Size: v.extranonce2.length / 2,
      difficulty: 1,
      versionMask: 0,
      receivedAtMs: 0,
    };
    const work = makeWork(job, Buffer.from(v.extranonce2, 'hex'));
    t.equal(work.merkleRoot.toString('hex'), v.expect.merkle_root_raw, `${v.name}: merkle root`);
    const header = buildHeader(work, hex32(v.nonce));
    t.equal(header.toString('hex'), v.expect.header_hex, `${v.name}: header`);
    const hash = sha256d(header);
    t.equal(Buffer.from(hash).reverse().toString('hex'), v.expect.hash_hex_display, `${v.name}: hash`);
    t.ok(Math.abs(difficultyOfHash(hash) - v.expect.share_difficulty) < 1e-3, `${v.name}: share difficulty`);
  }
});

t.test('header from a known merkle root', async (t) => {
  for (const v of V.vectors) {
    if (v.notify || !v.prevhash || !v.merkle_root_raw || !v.version || !v.nbits || !v.ntime) continue;
    const header = buildHeader(
      {
        job: {} as Job,
        extranonce2: Buffer.alloc(0),
        merkleRoot: Buffer.from(v.merkle_root_raw, 'hex'),
        prevHash: (await import('../src/pool/work/work.js')).prevHashFromStratum(v.prevhash),
        version: hex32(v.version),
        nbits: hex32(v.nbits),
        ntime: hex32(v.ntime),
        shareTargetLe: Buffer.alloc(32),
      },
      hex32(v.nonce),
    );
    t.equal(header.toString('hex'), v.expect.header_hex, v.name);
    const hash = sha256d(header);
    t.equal(Buffer.from(hash).reverse().toString('hex'), v.expect.hash_hex_display);
    t.ok(Math.abs(difficultyOfHash(hash) - v.expect.share_difficulty) < 1e-3);
  }
});

t.test('extranonce2 encoding', async (t) => {
  for (const e of V.extranonce2_encoding) t.equal(encodeExtranonce2(e.value, e.size).toString('hex'), e.hex);
  t.throws(() => encodeExtranonce2(256, 1));
  t.throws(() => encodeExtranonce2(-1, 4));
});

t.test('version rolling', async (t) => {
  const r = V.version_rolling;
  r.next.forEach((want, i) => {
    t.equal(
      rollVersion(hex32(r.base), hex32(r.mask), i + 1)
        .toString(16)
        .padStart(8, '0'),
      want,
    );
  });
  t.equal(rollVersion(hex32(r.base), hex32(r.mask), 0), hex32(r.base));
  t.equal(versionSpace(0x1fffe000), 65536);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 65535 }), (n) => {
      const v = rollVersion(0x20000000, 0x1fffe000, n);
      return (v & ~0x1fffe000) === 0x20000000 && (v & 0x1fffe000) >>> 13 === n;
    }),
  );
});

t.test('no two consumers ever get the same extranonce2', async () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 2 }), (consumers, size) => {
      const seen = new Set<string>();
      const counters = Array.from({ length: consumers }, (_, i) => new Extranonce2Counter(size, i, consumers));
      let total = 0;
      for (let round = 0; round < 70000; round++) {
        let any = false;
        for (const c of counters) {
          const e = c.take();
          if (!e) continue;
          any = true;
          total++;
          const k = e.toString('hex');
          if (seen.has(k)) return false;
          seen.add(k);
        }
        if (!any) break;
      }
      return total === 2 ** (8 * size);
    }),
    { numRuns: 10 },
  );
});

t.test('targets and difficulty, fractional included', async (t) => {
  t.equal(targetFromDifficulty(1), DIFF1_TARGET);
  t.equal(targetFromDifficulty(2), DIFF1_TARGET / 2n);
  t.equal(targetFromDifficulty(0.5), DIFF1_TARGET * 2n);
  t.equal(targetFromDifficulty(1e-30), (1n << 256n) - 1n, 'capped at the largest 256-bit value');
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) t.throws(() => targetFromDifficulty(bad));
  t.ok(targetFromDifficulty(1e300) >= 0n);
  fc.assert(
    fc.property(fc.double({ min: 1e-6, max: 1e12, noNaN: true }), (d) => {
      const target = targetFromDifficulty(d);
      // difficulty of a hash equal to the target is the difficulty, to float precision
      const le = targetToLeBytes(target);
      return Math.abs(difficultyOfHash(le) / d - 1) < 1e-9 && meetsTarget(le, le);
    }),
  );
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (a, b) => {
        return meetsTarget(a, b) === hashToBigInt(a) <= hashToBigInt(b);
      },
    ),
  );
  const h = Buffer.alloc(32);
  h[31] = 0x01;
  t.equal(leadingZeroBits(h), 7);
  h[31] = 0;
  h[30] = 0x80;
  t.equal(leadingZeroBits(h), 8);
});
