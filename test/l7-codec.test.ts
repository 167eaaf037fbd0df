import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { versionMaskRegister } from '../src/device/maijie-l7/chain-link.js';
import { crc5, crc5Bits, crc8, crc16 } from '../src/device/maijie-l7/crc.js';
import {
  chainInactive,
  decodeResponse,
  jobFrame,
  type Response,
  readRegister,
  responseFrame,
  setAddress,
  writeRegister,
} from '../src/device/maijie-l7/frames.js';
import { encodeMcuRequest, encodeMcuResponse, McuFrameParser } from '../src/device/maijie-l7/mcu-frames.js';
import { type Command, CommandParser, ResponseParser } from '../src/device/maijie-l7/parser.js';
import { decodePll, encodePll, findPll, rampSteps, ticketZeros } from '../src/device/maijie-l7/pll.js';
import { REG } from '../src/device/maijie-l7/registers.js';
import { FIXTURES } from './helpers/proc.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const contract = readFileSync(join(FIXTURES, 'hardware/maijie-l7-excerpt.md'), 'utf8');
const vectors = JSON.parse(readFileSync(join(FIXTURES, 'vectors/mining.json'), 'utf8')) as {
  crc: { crc5_frames: string[]; crc16_ccitt_false_check: string; crc8_smbus_check: string };
};

/** The worked frames of the contract, read from the document itself. */
function workedFrames(prefix: string): { bytes: Buffer; text: string }[] {
  const re = new RegExp(`^(${prefix}(?: [0-9A-F]{2})+)\\s+(.*)$`, 'gm');
  return [...contract.matchAll(re)].map((m) => ({ bytes: hex(m[1]), text: m[2] }));
}

t.test('CRC checks from the vectors', async (t) => {
  const check = Buffer.from('123456789');
  t.equal(crc16(check).toString(16).padStart(4, '0'), vectors.crc.crc16_ccitt_false_check);
  t.equal(crc8(check).toString(16).padStart(2, '0'), vectors.crc.crc8_smbus_check);
  for (const f of vectors.crc.crc5_frames) {
    const parts = f.split(' ');
    const crc = parts.pop() ?? '';
    t.equal(crc5(hex(parts.join('')), 2), Number.parseInt(crc, 16), f);
  }
});

t.test('every worked command frame of the contract', async (t) => {
  const frames = workedFrames('55 AA');
  t.ok(frames.length >= 7, `${frames.length} worked command frames`);
  const built: Record<string, Buffer> = {
    'read CHIP_ID, all chips': readRegister(0, REG.CHIP_ID, true),
    'chain inactive': chainInactive(),
    'set address 0x00': setAddress(0),
    'set address 0x03': setAddress(3),
    'write TICKET_ZEROS = 7, all chips': writeRegister(0, REG.TICKET_ZEROS, 7, true),
    'write VERSION_MASK 0x1fffe000, all chips': writeRegister(
      0,
      REG.VERSION_MASK,
      versionMaskRegister(0x1fffe000),
      true,
    ),
  };
  for (const f of frames) {
    t.equal(crc5(f.bytes, 2, f.bytes.length - 1), f.bytes[f.bytes.length - 1], `CRC of ${f.text}`);
    const mine = built[f.text];
    if (mine) t.same(mine.toString('hex'), f.bytes.toString('hex'), f.text);
    if (f.text.startsWith('write PLL0 of chip 0x06')) {
      const v = f.bytes.readUInt32BE(6);
      const pll = decodePll(v);
      t.equal(pll?.freqMHz, 200, 'PLL frame decodes to 200 MHz');
      t.match(pll, { fbdiv: 160, refdiv: 2, p1: 5, p2: 2, vdo: 0x40 });
      if (pll) t.same(writeRegister(6, REG.PLL0, encodePll(pll)).toString('hex'), f.bytes.toString('hex'));
    }
  }
});

t.test('every worked reply of the contract', async (t) => {
  const frames = workedFrames('AA 55');
  t.equal(frames.length, 2);
  const reg = decodeResponse(frames[0].bytes);
  t.same(reg, { kind: 'register', value: 0x4c370001, chip: 3, reg: 0 });
  const nonce = decodeResponse(frames[1].bytes);
  t.same(nonce, { kind: 'nonce', nonce: 0x0a029ed1, chip: 9, jobId: 0x28, core: 3, versionBits: 1 });
  for (const f of frames) {
    const r = decodeResponse(f.bytes);
    if (r) t.same(responseFrame(r).toString('hex'), f.bytes.toString('hex'), 're-encodes byte for byte');
    t.equal(crc5Bits(f.bytes, 2, 72), 0, 'CRC5 over bytes 2..10 with the CRC in place is 0');
  }
});

const responseArb: fc.Arbitrary<Response> = fc.oneof(
  fc.record({
    kind: fc.constant('register' as const),
    value: fc.integer({ min: 0, max: 0xffffffff }),
    chip: fc.integer({ min: 0, max: 255 }),
    reg: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant('nonce' as const),
    nonce: fc.integer({ min: 0, max: 0xffffffff }),
    chip: fc.integer({ min: 0, max: 255 }),
    jobId: fc.integer({ min: 0, max: 15 }).map((j) => j * 8),
    core: fc.integer({ min: 0, max: 7 }),
    versionBits: fc.integer({ min: 0, max: 0xffff }),
  }),
);

t.test('response frames round-trip; any single corrupted bit is caught', async () => {
  fc.assert(fc.property(responseArb, (r) => JSON.stringify(decodeResponse(responseFrame(r))) === JSON.stringify(r)));
  fc.assert(
    fc.property(responseArb, fc.integer({ min: 16, max: 87 }), (r, bit) => {
      const f = responseFrame(r);
      f[bit >> 3] ^= 0x80 >> (bit & 7);
      return decodeResponse(f) === undefined;
    }),
  );
});

t.test('response parser: random noise never throws and frames after it are decoded', async () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(responseArb, { maxLength: 20 }),
      fc.integer({ min: 1, max: 13 }),
      (noise, rs, chunk) => {
        const got: Response[] = [];
        const p = new ResponseParser((r) => got.push(r));
        p.push(Buffer.from(noise));
        const data = Buffer.concat(rs.map(responseFrame));
        for (let o = 0; o < data.length; o += chunk) p.push(data.subarray(o, o + chunk));
        // noise may end in a partial frame that swallows at most the first real one; the rest decode exactly
        const tail = rs.slice(1);
        return JSON.stringify(got.slice(got.length - tail.length)) === JSON.stringify(tail);
      },
    ),
    // fixed seed: random noise can, rarely, forge a CRC-valid frame that overlaps the first real ones
    { seed: 20261122 },
  );
  // clean stream: exact
  fc.assert(
    fc.property(fc.array(responseArb, { maxLength: 30 }), (rs) => {
      const got: Response[] = [];
      const p = new ResponseParser((r) => got.push(r));
      p.push(Buffer.concat(rs.map(responseFrame)));
      return JSON.stringify(got) === JSON.stringify(rs) && p.counters.crcErrors === 0;
    }),
  );
});

t.test('response parser: a corrupted frame is counted and the next frames survive', async (t) => {
  const got: Response[] = [];
  const p = new ResponseParser((r) => got.push(r));
  const a = responseFrame({ kind: 'nonce', nonce: 1, chip: 3, jobId: 8, core: 1, versionBits: 0 });
  const b = responseFrame({ kind: 'register', value: 0x4c370001, chip: 6, reg: 0 });
  const bad = Buffer.from(a);
  bad[5] ^= 0x10;
  p.push(Buffer.concat([bad, b, a, Buffer.from([0xaa, 0x55, 1, 2])]));
  t.equal(got.length, 2);
  t.equal(p.counters.crcErrors, 1);
});

t.test('command parser (chip side) decodes what the driver sends, and rejects bad CRCs', async (t) => {
  const got: Command[] = [];
  const p = new CommandParser((c) => got.push(c));
  const job = jobFrame({
    jobId: 0x28,
    startNonce: 0,
    nbits: 0x1705ae3a,
    ntime: 0x647025b5,
    merkleRoot: Buffer.alloc(32, 1),
    prevHash: Buffer.alloc(32, 2),
    version: 0x20000000,
  });
  t.equal(job.length, 88);
  const badJob = Buffer.from(job);
  badJob[40] ^= 1;
  p.push(Buffer.concat([Buffer.from([1, 2, 3]), readRegister(0, 0, true), badJob, job, setAddress(3)]));
  t.same(
    got.map((c) => c.kind),
    ['command', 'job', 'command'],
  );
  t.equal(p.counters.crcErrors, 1);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (noise) => {
      new CommandParser(() => {}).push(Buffer.from(noise));
    }),
  );
});

t.test('PLL search: closest, then lowest VCO, then smallest post-divider product', async (t) => {
  const s200 = findPll(200);
  t.equal(s200.freqMHz, 200);
  t.equal(s200.vcoMHz, 1800, 'VCO 1800 beats the 2000 of the worked frame');
  for (let f = 50; f <= 800; f += 5) {
    const s = findPll(f);
    t.ok(Math.abs(s.freqMHz - f) <= 5, `${f} MHz → ${s.freqMHz.toFixed(2)}`);
    t.same(decodePll(encodePll(s)), s);
    t.equal(s.vdo, s.vcoMHz >= 2400 ? 0x50 : 0x40);
  }
  t.same(rampSteps(50, 120), [75, 100, 120]);
  t.same(rampSteps(500, 450), [475, 450]);
  t.equal(ticketZeros(333, 3), 6);
  t.equal(ticketZeros(357e9, 3), 36);
  t.equal(decodePll(0x40ff0000), undefined, 'fbdiv out of range');
});

t.test('MCU frames round-trip and the parser resynchronises', async (t) => {
  const got: { code: number; reg: number; data: Buffer }[] = [];
  let bad = 0;
  const p = new McuFrameParser(
    0x5a,
    (f) => got.push(f),
    () => bad++,
  );
  const r1 = encodeMcuResponse(0, 0x20, Buffer.from([2, 0x09, 0xc4, 0x0a, 0x28]));
  const r2 = encodeMcuResponse(2, 0x77);
  const broken = Buffer.from(r1);
  broken[5] ^= 0xff;
  p.push(Buffer.concat([Buffer.from([0, 1]), broken, r1, r2]));
  t.equal(got.length, 2);
  t.equal(bad, 1);
  t.equal(
    encodeMcuRequest(1, 0x20).toString('hex'),
    `a5012000${crc8(Buffer.from([1, 0x20, 0]))
      .toString(16)
      .padStart(2, '0')}`,
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (noise) => {
      new McuFrameParser(0xa5, () => {}).push(Buffer.from(noise));
    }),
  );
});
