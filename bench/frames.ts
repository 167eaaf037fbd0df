// Chain-link parser throughput on one core: MB/s and nonce replies/s, against a plain byte loop over the same data.
// Run: node --import tsx bench/frames.ts
import { responseFrame } from '../src/device/maijie-l7/frames.js';
import { ResponseParser } from '../src/device/maijie-l7/parser.js';
import { fmt, median, runs } from './lib.js';

const FRAMES = 200_000;
const frames: Buffer[] = [];
for (let i = 0; i < FRAMES; i++) {
  frames.push(
    i % 20 === 0
      ? responseFrame({ kind: 'register', value: 0x4c370001, chip: i % 76, reg: 0 })
      : responseFrame({
          kind: 'nonce',
          nonce: (i * 2654435761) >>> 0,
          chip: (i % 76) * 3,
          jobId: (i % 16) * 8,
          core: i % 8,
          versionBits: i & 0xffff,
        }),
  );
}
const data = Buffer.concat(frames);
// as a UART driver delivers them: chunks of varying size
const chunks: Buffer[] = [];
for (let o = 0, k = 0; o < data.length; k++) {
  const n = 32 + ((k * 37) % 200);
  chunks.push(data.subarray(o, o + n));
  o += n;
}
const noisy = Buffer.from(data);
for (let i = 0; i < noisy.length; i += 1000) noisy[i] ^= 0x20;

function parse(src: Buffer[] | Buffer): { s: number; nonces: number } {
  let nonces = 0;
  const p = new ResponseParser((r) => {
    if (r.kind === 'nonce') nonces++;
  });
  const t0 = performance.now();
  if (Array.isArray(src)) for (const c of src) p.push(c);
  else p.push(src);
  return { s: (performance.now() - t0) / 1000, nonces };
}

function byteLoop(): number {
  const t0 = performance.now();
  let x = 0;
  for (const c of chunks) for (let i = 0; i < c.length; i++) x = (x + c[i]) | 0;
  if (x === 42) console.log('');
  return (performance.now() - t0) / 1000;
}

parse(chunks); // warm-up
byteLoop();
const RUNS = 5;
const base = runs(RUNS, byteLoop);
const clean = runs(RUNS, () => parse(chunks));
const dirty = runs(RUNS, () => parse([noisy]));
const mb = data.length / 1e6;
const mBase = mb / median(base);
const mClean = mb / median(clean.map((r) => r.s));
console.log(`byte loop (baseline)            ${mBase.toFixed(1)} MB/s`);
console.log(
  `parser, clean stream            ${mClean.toFixed(1)} MB/s, ${fmt(clean[0].nonces / median(clean.map((r) => r.s)))} nonce replies/s, ratio ${(mClean / mBase).toFixed(2)} of the byte loop`,
);
console.log(`parser, 1 byte in 1000 flipped  ${(mb / median(dirty.map((r) => r.s))).toFixed(1)} MB/s`);
console.log(`${FRAMES} frames (${mb.toFixed(1)} MB), median of ${RUNS} runs, node ${process.version}`);
