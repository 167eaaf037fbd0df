import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import type { ChipWork, FromHasher, NonceOut, ToHasher } from './hasher-protocol.js';

// The chips' hashing, off the simulator's I/O thread. Every nonce it returns is a real SHA-256d result of the job
// the chip holds; wrong ones (hardware errors above a chip's limit) are real results with a bit flipped.

interface BoardState {
  job: { jobId: number; header: Buffer; versionMaskBits: number } | undefined;
  chips: (ChipWork & { offset: number; vIndex: number; budget: number })[];
}

const boards = new Map<number, BoardState>();
const port = parentPort;

function board(b: number): BoardState {
  let s = boards.get(b);
  if (!s) {
    s = { job: undefined, chips: [] };
    boards.set(b, s);
  }
  return s;
}

function deposit(n: number, mask: number): number {
  let out = 0;
  let k = n;
  for (let i = 0; i < 16 && k > 0; i++) {
    if (mask & (1 << i)) {
      if (k & 1) out |= 1 << i;
      k >>>= 1;
    }
  }
  return out;
}

function leadingZeros(h: Buffer): number {
  let n = 0;
  for (let i = 31; i >= 0; i--) {
    if (h[i] === 0) n += 8;
    else return n + Math.clz32(h[i]) - 24;
  }
  return n;
}

let last = performance.now();
function tick(): void {
  const now = performance.now();
  const dt = Math.min(1, (now - last) / 1000);
  last = now;
  for (const [b, s] of boards) {
    const job = s.job;
    if (!job) continue;
    const out: NonceOut[] = [];
    let hashes = 0;
    const h = job.header;
    const baseVersion = h.readUInt32LE(0);
    for (const c of s.chips) {
      if (!c.hashing || c.rateHs <= 0) continue;
      c.budget = Math.min(c.budget + c.rateHs * dt, c.rateHs);
      const rangeLen = c.interval * 2 ** 24;
      while (c.budget >= 1) {
        c.budget -= 1;
        hashes++;
        const nonce = ((c.addr << 24) + c.offset) >>> 0;
        const vbits = deposit(c.vIndex, job.versionMaskBits);
        h.writeUInt32LE((baseVersion | (vbits << 13)) >>> 0, 0);
        h.writeUInt32LE(nonce, 76);
        const hash = createHash('sha256').update(createHash('sha256').update(h).digest()).digest();
        if (leadingZeros(hash) >= c.zeros) {
          const bad = c.errRate > 0 && Math.random() < c.errRate;
          out.push({
            addr: c.addr,
            nonce: bad ? (nonce ^ (1 << Math.floor(Math.random() * 24))) >>> 0 : nonce,
            jobId: job.jobId,
            core: Math.floor(Math.random() * 8),
            versionBits: vbits,
          });
        }
        c.offset++;
        if (c.offset >= rangeLen) {
          c.offset = 0;
          c.vIndex++;
        }
      }
    }
    h.writeUInt32LE(baseVersion, 0);
    if (out.length || hashes) port?.postMessage({ t: 'nonces', board: b, list: out, hashes } satisfies FromHasher);
  }
}

const timer = setInterval(tick, 20);

port?.on('message', (m: ToHasher) => {
  switch (m.t) {
    case 'job': {
      const s = board(m.board);
      s.job = { jobId: m.jobId, header: Buffer.from(m.header), versionMaskBits: m.versionMaskBits };
      for (const c of s.chips) {
        c.offset = 0;
        c.vIndex = 0;
      }
      return;
    }
    case 'chips': {
      const s = board(m.board);
      const prev = new Map(s.chips.map((c) => [c.addr, c]));
      s.chips = m.chips.map((c) => {
        const p = prev.get(c.addr);
        return { ...c, offset: p?.offset ?? 0, vIndex: p?.vIndex ?? 0, budget: p?.budget ?? 0 };
      });
      return;
    }
    case 'clear':
      boards.delete(m.board);
      return;
    case 'stop':
      clearInterval(timer);
      port?.close();
  }
});
