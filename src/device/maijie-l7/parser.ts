import { crc5, crc16 } from './crc.js';
import { decodeResponse, JOB_FRAME_BYTES, JOB_HDR, JOB_LEN, RESPONSE_BYTES, type Response } from './frames.js';

export interface ParserCounters {
  frames: number;
  crcErrors: number;
  /** Bytes skipped while looking for a preamble. */
  garbageBytes: number;
}

/**
 * Cuts the chips' byte stream into 11-byte response frames. A frame whose CRC fails is dropped and counted, and the
 * search resumes one byte later, so a corrupted or truncated frame costs only itself.
 */
export class ResponseParser {
  readonly counters: ParserCounters = { frames: 0, crcErrors: 0, garbageBytes: 0 };
  private buf = Buffer.alloc(0);

  constructor(private readonly onFrame: (r: Response) => void) {}

  push(chunk: Buffer): void {
    let b = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let i = 0;
    const n = b.length;
    while (n - i >= RESPONSE_BYTES) {
      if (b[i] !== 0xaa || b[i + 1] !== 0x55) {
        i++;
        this.counters.garbageBytes++;
        continue;
      }
      const r = decodeResponse(b, i);
      if (!r) {
        this.counters.crcErrors++;
        i++;
        continue;
      }
      this.counters.frames++;
      i += RESPONSE_BYTES;
      this.onFrame(r);
    }
    b = b.subarray(i);
    // keep what may be the start of a frame; copy so the caller's chunk can be reused
    this.buf = b.length ? Buffer.from(b) : Buffer.alloc(0);
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
  }
}

export type Command =
  | { kind: 'command'; op: number; broadcast: boolean; payload: Buffer }
  | { kind: 'job'; frame: Buffer };

/**
 * The chips' side: cuts the host's byte stream into command and job frames (used by the simulator). Frames with a
 * bad CRC are dropped and counted, as a chip's ERROR_COUNT does.
 */
export class CommandParser {
  readonly counters = { frames: 0, crcErrors: 0, garbageBytes: 0 };
  private buf = Buffer.alloc(0);

  constructor(private readonly onCommand: (c: Command) => void) {}

  push(chunk: Buffer): void {
    let b = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let i = 0;
    while (b.length - i >= 4) {
      if (b[i] !== 0x55 || b[i + 1] !== 0xaa) {
        i++;
        this.counters.garbageBytes++;
        continue;
      }
      const hdr = b[i + 2];
      const len = b[i + 3];
      if (hdr === JOB_HDR) {
        if (len !== JOB_LEN) {
          this.counters.garbageBytes++;
          i++;
          continue;
        }
        if (b.length - i < JOB_FRAME_BYTES) break;
        const crc = b.readUInt16BE(i + 86);
        if (crc16(b, i + 2, i + 86) !== crc) {
          this.counters.crcErrors++;
          i++;
          continue;
        }
        this.counters.frames++;
        this.onCommand({ kind: 'job', frame: Buffer.from(b.subarray(i, i + JOB_FRAME_BYTES)) });
        i += JOB_FRAME_BYTES;
        continue;
      }
      if ((hdr & 0xe0) !== 0x40 || len < 3 || len > 16) {
        this.counters.garbageBytes++;
        i++;
        continue;
      }
      const total = len + 2;
      if (b.length - i < total) break;
      if (crc5(b, i + 2, i + total - 1) !== (b[i + total - 1] & 0x1f)) {
        this.counters.crcErrors++;
        i++;
        continue;
      }
      this.counters.frames++;
      this.onCommand({
        kind: 'command',
        op: hdr & 0x0f,
        broadcast: (hdr & 0x10) !== 0,
        payload: Buffer.from(b.subarray(i + 4, i + total - 1)),
      });
      i += total;
    }
    b = b.subarray(i);
    this.buf = b.length ? Buffer.from(b) : Buffer.alloc(0);
  }
}
