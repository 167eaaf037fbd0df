import { crc8 } from './crc.js';

// Board MCU frames (contract §2). Request: A5 op reg len data crc8. Response: 5A status reg len data crc8.

export interface McuFrame {
  /** op for a request, status for a response */
  code: number;
  reg: number;
  data: Buffer;
}

function encode(lead: number, f: McuFrame): Buffer {
  const b = Buffer.alloc(5 + f.data.length);
  b[0] = lead;
  b[1] = f.code;
  b[2] = f.reg;
  b[3] = f.data.length;
  f.data.copy(b, 4);
  b[b.length - 1] = crc8(b, 1, b.length - 1);
  return b;
}

export const encodeMcuRequest = (op: number, reg: number, data: Buffer = Buffer.alloc(0)) =>
  encode(0xa5, { code: op, reg, data });
export const encodeMcuResponse = (status: number, reg: number, data: Buffer = Buffer.alloc(0)) =>
  encode(0x5a, { code: status, reg, data });

/**
 * Cuts MCU frames with a given lead byte out of a stream (TCP carries them back to back). Bad CRCs are counted and
 * reported so the owner can answer "bad CRC" (MCU side) or retry (host side).
 */
export class McuFrameParser {
  readonly counters = { frames: 0, crcErrors: 0, garbageBytes: 0 };
  private buf = Buffer.alloc(0);

  constructor(
    private readonly lead: number,
    private readonly onFrame: (f: McuFrame) => void,
    private readonly onBadCrc: (reg: number) => void = () => {},
  ) {}

  push(chunk: Buffer): void {
    let b = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let i = 0;
    while (b.length - i >= 5) {
      if (b[i] !== this.lead) {
        i++;
        this.counters.garbageBytes++;
        continue;
      }
      const len = b[i + 3];
      if (b.length - i < len + 5) break;
      const end = i + 4 + len;
      if (crc8(b, i + 1, end) !== b[end]) {
        this.counters.crcErrors++;
        this.onBadCrc(b[i + 2]);
        i++;
        continue;
      }
      this.counters.frames++;
      this.onFrame({ code: b[i + 1], reg: b[i + 2], data: Buffer.from(b.subarray(i + 4, end)) });
      i = end + 1;
    }
    b = b.subarray(i);
    this.buf = b.length ? Buffer.from(b) : Buffer.alloc(0);
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
  }
}
