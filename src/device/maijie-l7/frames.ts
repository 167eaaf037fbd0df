import { crc5, crc5Bits, crc16 } from './crc.js';

// Chain link frames, both directions (contract §1.1–1.3). Encoders allocate; decoders never throw.

export const OP = { SET_ADDRESS: 0, WRITE_REG: 1, READ_REG: 2, CHAIN_INACTIVE: 3 } as const;
const CMD = 0x40;
const BROADCAST = 0x10;
export const JOB_HDR = 0x21;
export const JOB_LEN = 0x56;
export const JOB_FRAME_BYTES = 88;
export const RESPONSE_BYTES = 11;

export function commandFrame(op: number, broadcast: boolean, payload: readonly number[]): Buffer {
  const f = Buffer.alloc(payload.length + 5);
  f[0] = 0x55;
  f[1] = 0xaa;
  f[2] = CMD | (broadcast ? BROADCAST : 0) | op;
  f[3] = payload.length + 3;
  for (let i = 0; i < payload.length; i++) f[4 + i] = payload[i];
  f[f.length - 1] = crc5(f, 2, f.length - 1);
  return f;
}

export const readRegister = (chip: number, reg: number, broadcast = false) =>
  commandFrame(OP.READ_REG, broadcast, [chip & 0xff, reg & 0xff]);

export function writeRegister(chip: number, reg: number, value: number, broadcast = false): Buffer {
  const v = value >>> 0;
  return commandFrame(OP.WRITE_REG, broadcast, [
    chip & 0xff,
    reg & 0xff,
    v >>> 24,
    (v >>> 16) & 0xff,
    (v >>> 8) & 0xff,
    v & 0xff,
  ]);
}

export const chainInactive = () => commandFrame(OP.CHAIN_INACTIVE, true, [0, 0]);
export const setAddress = (addr: number) => commandFrame(OP.SET_ADDRESS, false, [addr & 0xff, 0]);

export interface JobFields {
  jobId: number;
  startNonce: number;
  nbits: number;
  ntime: number;
  /** Header merkle root bytes (header order). */
  merkleRoot: Uint8Array;
  /** Header prev-hash bytes (header order). */
  prevHash: Uint8Array;
  version: number;
}

/** Header order → chip order: the eight 4-byte words reversed (bytes inside each word kept). */
export function reverseWords(src: Uint8Array, dst: Uint8Array, off: number): void {
  for (let w = 0; w < 8; w++) {
    const from = (7 - w) * 4;
    for (let k = 0; k < 4; k++) dst[off + w * 4 + k] = src[from + k];
  }
}

export function jobFrame(j: JobFields): Buffer {
  const f = Buffer.alloc(JOB_FRAME_BYTES);
  f[0] = 0x55;
  f[1] = 0xaa;
  f[2] = JOB_HDR;
  f[3] = JOB_LEN;
  f[4] = j.jobId & 0xff;
  f[5] = 0x01;
  f.writeUInt32LE(j.startNonce >>> 0, 6);
  f.writeUInt32LE(j.nbits >>> 0, 10);
  f.writeUInt32LE(j.ntime >>> 0, 14);
  reverseWords(j.merkleRoot, f, 18);
  reverseWords(j.prevHash, f, 50);
  f.writeUInt32LE(j.version >>> 0, 82);
  f.writeUInt16BE(crc16(f, 2, 86), 86);
  return f;
}

export type Response =
  | { kind: 'register'; value: number; chip: number; reg: number }
  | { kind: 'nonce'; nonce: number; chip: number; jobId: number; core: number; versionBits: number };

/** Builds an 11-byte response frame (used by the simulator and by tests). */
export function responseFrame(r: Response): Buffer {
  const f = Buffer.alloc(RESPONSE_BYTES);
  f[0] = 0xaa;
  f[1] = 0x55;
  if (r.kind === 'register') {
    f.writeUInt32BE(r.value >>> 0, 2);
    f[6] = r.chip & 0xff;
    f[7] = r.reg & 0xff;
    f[10] = 0;
  } else {
    f.writeUInt32LE(r.nonce >>> 0, 2);
    f[6] = r.chip & 0xff;
    f[7] = (r.jobId & 0xf8) | (r.core & 0x07);
    f.writeUInt16BE(r.versionBits & 0xffff, 8);
    f[10] = 0x80;
  }
  f[10] |= crc5Bits(f.subarray(2, 11), 0, 67);
  return f;
}

/** Checks and decodes one 11-byte response frame at `off`; undefined when its CRC fails. */
export function decodeResponse(b: Uint8Array, off = 0): Response | undefined {
  const last = b[off + 10];
  if (crc5Bits(b, off + 2, 67) !== (last & 0x1f)) return undefined;
  const d = Buffer.from(b.buffer, b.byteOffset + off, RESPONSE_BYTES);
  if (last & 0x80) {
    return {
      kind: 'nonce',
      nonce: d.readUInt32LE(2),
      chip: d[6],
      jobId: d[7] & 0xf8,
      core: d[7] & 0x07,
      versionBits: d.readUInt16BE(8),
    };
  }
  return { kind: 'register', value: d.readUInt32BE(2), chip: d[6], reg: d[7] };
}
