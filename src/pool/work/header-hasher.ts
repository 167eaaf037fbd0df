// SHA-256d of block headers on the nonce path, in JavaScript: a header's first 64 bytes (version, previous hash, most
// of the merkle root) are the same for every nonce of a job and version, so their compression (the midstate) is
// computed once and each nonce costs two compressions (the header's last 16 bytes; the 32-byte first hash). Node's
// crypto makes two hash objects and two buffers per call, three compressions, and crosses into C++ twice: several
// times the cost on the daemon's busiest path.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** One SHA-256 compression: `state` (8 words) absorbs the 16-word block `w` (its first 16 words; w has 64). */
function compress(state: Int32Array, w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15];
    const y = w[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = state[0];
  let b = state[1];
  let c = state[2];
  let d = state[3];
  let e = state[4];
  let f = state[5];
  let g = state[6];
  let h = state[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[i] + w[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0;
  state[5] = (state[5] + f) | 0;
  state[6] = (state[6] + g) | 0;
  state[7] = (state[7] + h) | 0;
}

/** A 32-bit word's bytes reversed: a little-endian header field as the big-endian word SHA-256 reads. */
const bswap32 = (x: number) => ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);

const w = new Int32Array(64);
const st = new Int32Array(8);

/** The midstate of a header's first 64 bytes. */
export function headerMidstate(header64: Uint8Array): Int32Array {
  const mid = new Int32Array(IV);
  for (let i = 0; i < 16; i++)
    w[i] = (header64[i * 4] << 24) | (header64[i * 4 + 1] << 16) | (header64[i * 4 + 2] << 8) | header64[i * 4 + 3];
  compress(mid, w);
  return mid;
}

/**
 * SHA-256d of an 80-byte header from the midstate of its first 64 bytes, and its last 16: `tail0`–`tail2` are the
 * big-endian words at bytes 64, 68, 72 (merkle root tail, ntime, nbits as laid out), `nonce` the header's nonce
 * (little-endian in the header). The hash is written into `out` (32 bytes, as crypto's digest).
 */
export function sha256dFromMidstate(
  mid: Int32Array,
  tail0: number,
  tail1: number,
  tail2: number,
  nonce: number,
  out: Uint8Array,
): void {
  st.set(mid);
  w[0] = tail0;
  w[1] = tail1;
  w[2] = tail2;
  // the nonce is little-endian in the header: its big-endian word is the bytes reversed
  w[3] = bswap32(nonce);
  w[4] = 0x80000000 | 0;
  for (let i = 5; i < 15; i++) w[i] = 0;
  w[15] = 640;
  compress(st, w);
  // second hash: the 32-byte first hash, padded
  for (let i = 0; i < 8; i++) w[i] = st[i];
  w[8] = 0x80000000 | 0;
  for (let i = 9; i < 15; i++) w[i] = 0;
  w[15] = 256;
  st.set(IV);
  compress(st, w);
  for (let i = 0; i < 8; i++) {
    const v = st[i];
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = (v >>> 16) & 0xff;
    out[i * 4 + 2] = (v >>> 8) & 0xff;
    out[i * 4 + 3] = v & 0xff;
  }
}

/** Versions whose midstates one work keeps: chips roll a few at a time; a flood of others just starts over. */
const MAX_MIDSTATES = 64;

/**
 * SHA-256d of one work's headers by version and nonce (the same bytes as `sha256d(buildHeader(work, nonce,
 * version))`), each version's midstate computed once.
 */
export class HeaderHasher {
  private readonly mids = new Map<number, Int32Array>();
  private readonly first = new Uint8Array(64);
  private readonly tail0: number;
  private readonly tail1: number;
  private readonly tail2: number;

  constructor(work: { prevHash: Uint8Array; merkleRoot: Uint8Array; ntime: number; nbits: number }) {
    this.first.set(work.prevHash.subarray(0, 32), 4);
    this.first.set(work.merkleRoot.subarray(0, 28), 36);
    const m = work.merkleRoot;
    this.tail0 = (m[28] << 24) | (m[29] << 16) | (m[30] << 8) | m[31];
    this.tail1 = bswap32(work.ntime >>> 0);
    this.tail2 = bswap32(work.nbits >>> 0);
  }

  /** Writes the header hash for `version` and `nonce` into `out` (32 bytes). */
  hash(version: number, nonce: number, out: Uint8Array): void {
    let mid = this.mids.get(version);
    if (mid === undefined) {
      if (this.mids.size >= MAX_MIDSTATES) this.mids.clear();
      const f = this.first;
      f[0] = version & 0xff;
      f[1] = (version >>> 8) & 0xff;
      f[2] = (version >>> 16) & 0xff;
      f[3] = version >>> 24;
      mid = headerMidstate(f);
      this.mids.set(version, mid);
    }
    sha256dFromMidstate(mid, this.tail0, this.tail1, this.tail2, nonce >>> 0, out);
  }
}
