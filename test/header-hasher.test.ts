// The nonce path's SHA-256d (midstate per version, in JavaScript) gives the bytes node's crypto gives for the same
// header, for any work, version and nonce, and for many versions of one work (its midstate cache starting over).
import fc from 'fast-check';
import t from 'tap';
import { sha256d } from '../src/pool/work/hash.js';
import { HeaderHasher } from '../src/pool/work/header-hasher.js';
import { buildHeader, type Work } from '../src/pool/work/work.js';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

t.test('the same hash as crypto for any header', async (t) => {
  fc.assert(
    fc.property(bytes(32), bytes(32), u32, u32, u32, u32, (prevHash, merkleRoot, ntime, nbits, version, nonce) => {
      const work = { prevHash, merkleRoot, ntime, nbits, version } as Work;
      const out = Buffer.alloc(32);
      new HeaderHasher(work).hash(version, nonce, out);
      return out.equals(sha256d(buildHeader(work, nonce, version)));
    }),
    { numRuns: 2000 },
  );
  t.pass('2000 random headers');
});

t.test('one work, many versions and nonces: every hash right', async (t) => {
  const work = {
    prevHash: Buffer.alloc(32, 0x11),
    merkleRoot: Buffer.alloc(32, 0x22),
    ntime: 0x6543_2100,
    nbits: 0x1703_a30c,
    version: 0x2000_0000,
  } as Work;
  const h = new HeaderHasher(work);
  const out = Buffer.alloc(32);
  let wrong = 0;
  // 200 versions: more than the cache keeps, so it starts over on the way
  for (let v = 0; v < 200; v++)
    for (const nonce of [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, v * 0x0101_0101]) {
      const version = (work.version | (v << 13)) >>> 0;
      h.hash(version, nonce, out);
      if (!out.equals(sha256d(buildHeader(work, nonce, version)))) wrong++;
    }
  t.equal(wrong, 0);
});
