import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { sweepTempFiles, writeFileAtomic } from '../util/atomic-file.js';
import type { Logger } from '../util/log.js';

// The history file: a header frame, then frames appended as samples are taken. A frame is
// [u8 type][u16 payload length][payload][u32 CRC-32 of type, length and payload], little-endian. A daemon killed
// mid-append leaves at most one torn frame at the end: loading stops at the first frame that does not check out and
// cuts the file there. Old samples are dropped by rewriting the whole file atomically.

const MAGIC = 'asicd-history';
const FORMAT_VERSION = 1;
const T_HEADER = 0;
const T_POOL = 1;
const T_SAMPLE = 2;
const FRAME_OVERHEAD = 7;
const BOARD_BYTES = 13;
const POOL_BYTES = 10;
/** A pool label (url and worker) longer than this is cut: a frame's payload length is a u16. */
const MAX_LABEL_BYTES = 600;
/** No valid frame is longer: a sample of 255 boards and 255 pools, or a pool label. */
const MAX_PAYLOAD_BYTES = 8 + 255 * BOARD_BYTES + 255 * POOL_BYTES;

/** Samples kept at most, whatever retention and interval ask for: bounds memory and the file (about 2 MB). */
export const MAX_SAMPLES = 20_160;

export interface BoardSample {
  mining: boolean;
  /** mean over the sample's span */
  hashrateHs: number;
  /** mean over the span, 0 while the board does not mine */
  powerW: number;
  /** the hottest chip reading seen during the span (NaN: none) */
  maxChipC: number;
}

export interface PoolSample {
  /** "url worker": what identifies a pool across restarts (never the password) */
  label: string;
  /** shares accepted and rejected during the span */
  accepted: number;
  rejected: number;
}

export interface HistorySample {
  /** end of the span, Unix seconds */
  tS: number;
  spanS: number;
  boards: BoardSample[];
  pools: PoolSample[];
}

export interface HistorySeries {
  /** seconds each point stands for */
  stepS: number;
  /** end of each step, Unix seconds; a step with no samples between two with samples is a null row (a gap) */
  t: number[];
  hashrateHs: (number | null)[];
  powerW: (number | null)[];
  boards: { board: number; hashrateHs: (number | null)[]; powerW: (number | null)[]; maxChipC: (number | null)[] }[];
  pools: { pool: string; accepted: (number | null)[]; rejected: (number | null)[] }[];
}

export class HistoryFormatError extends Error {}

function frame(type: number, payload: Buffer): Buffer {
  if (payload.length > 0xffff) throw new HistoryFormatError(`history frame too large (${payload.length} bytes)`);
  const out = Buffer.alloc(FRAME_OVERHEAD + payload.length);
  out.writeUInt8(type, 0);
  out.writeUInt16LE(payload.length, 1);
  payload.copy(out, 3);
  out.writeUInt32LE(crc32(out.subarray(0, 3 + payload.length)), 3 + payload.length);
  return out;
}

function headerFrame(): Buffer {
  const p = Buffer.alloc(MAGIC.length + 1);
  p.write(MAGIC, 0, 'latin1');
  p.writeUInt8(FORMAT_VERSION, MAGIC.length);
  return frame(T_HEADER, p);
}

function poolFrame(key: number, label: string): Buffer {
  const text = Buffer.from(label, 'utf8').subarray(0, MAX_LABEL_BYTES);
  const p = Buffer.alloc(2 + text.length);
  p.writeUInt16LE(key, 0);
  text.copy(p, 2);
  return frame(T_POOL, p);
}

function sampleFrame(s: HistorySample, keyOf: (label: string) => number): Buffer {
  const p = Buffer.alloc(8 + s.boards.length * BOARD_BYTES + s.pools.length * POOL_BYTES);
  p.writeUInt32LE(Math.round(s.tS), 0);
  p.writeUInt16LE(Math.min(0xffff, Math.max(0, Math.round(s.spanS))), 4);
  p.writeUInt8(s.boards.length, 6);
  p.writeUInt8(s.pools.length, 7);
  let o = 8;
  for (const b of s.boards) {
    p.writeUInt8(b.mining ? 1 : 0, o);
    p.writeFloatLE(b.hashrateHs, o + 1);
    p.writeFloatLE(b.powerW, o + 5);
    p.writeFloatLE(b.maxChipC, o + 9);
    o += BOARD_BYTES;
  }
  for (const q of s.pools) {
    p.writeUInt16LE(keyOf(q.label), o);
    p.writeUInt32LE(Math.min(0xffffffff, q.accepted), o + 2);
    p.writeUInt32LE(Math.min(0xffffffff, q.rejected), o + 6);
    o += POOL_BYTES;
  }
  return frame(T_SAMPLE, p);
}

function parseSample(p: Buffer, labels: Map<number, string>): HistorySample | undefined {
  if (p.length < 8) return undefined;
  const nBoards = p.readUInt8(6);
  const nPools = p.readUInt8(7);
  if (p.length !== 8 + nBoards * BOARD_BYTES + nPools * POOL_BYTES) return undefined;
  const s: HistorySample = { tS: p.readUInt32LE(0), spanS: p.readUInt16LE(4), boards: [], pools: [] };
  let o = 8;
  for (let i = 0; i < nBoards; i++, o += BOARD_BYTES) {
    s.boards.push({
      mining: p.readUInt8(o) === 1,
      hashrateHs: p.readFloatLE(o + 1),
      powerW: p.readFloatLE(o + 5),
      maxChipC: p.readFloatLE(o + 9),
    });
  }
  for (let i = 0; i < nPools; i++, o += POOL_BYTES) {
    const label = labels.get(p.readUInt16LE(o));
    if (label === undefined) return undefined;
    s.pools.push({ label, accepted: p.readUInt32LE(o + 2), rejected: p.readUInt32LE(o + 6) });
  }
  return s;
}

export interface LoadResult {
  samples: number;
  /** bytes cut from the end: a torn or corrupt tail */
  droppedBytes: number;
  /** where a file that is not a history file was moved (undefined: none) */
  movedAside?: string;
}

/**
 * Hash rate, power, temperatures and shares per pool over time, in a compact file that survives restarts and
 * crashes. One writer: the daemon.
 */
export class HistoryStore {
  private list: HistorySample[] = [];
  private readonly keys = new Map<string, number>();
  private fd: number | undefined;

  constructor(
    readonly file: string,
    /** samples older than this (seconds before the newest) are dropped */
    private readonly retentionS: number,
    private readonly log: Logger,
    private readonly maxSamples = MAX_SAMPLES,
  ) {}

  get samples(): readonly HistorySample[] {
    return this.list;
  }

  /** Reads the file (cutting a torn tail) and opens it for appending. */
  open(): LoadResult {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    sweepTempFiles(this.file);
    const result: LoadResult = { samples: 0, droppedBytes: 0 };
    if (existsSync(this.file)) {
      const buf = readFileSync(this.file);
      const { samples, labels, skipped, tornBytes, isHistory } = this.parse(buf);
      if (!isHistory && buf.length > 0) {
        // not ours (or its header is damaged): keep it for a human, start afresh
        result.movedAside = this.moveAside();
        this.log.error({ file: this.file, movedTo: result.movedAside }, 'history file not recognised; moved aside');
      } else {
        this.list = samples;
        for (const [key, label] of labels) this.keys.set(label, key);
        result.droppedBytes = skipped + tornBytes;
        if (skipped > 0) {
          // damage inside the file: keep the original for a human, write what could be read
          result.movedAside = this.moveAside();
          this.log.error(
            { file: this.file, movedTo: result.movedAside, droppedBytes: result.droppedBytes, kept: samples.length },
            'history file damaged; kept every sample that checks out',
          );
          this.rewrite();
        } else if (tornBytes > 0) {
          const fd = openSync(this.file, 'r+');
          try {
            ftruncateSync(fd, buf.length - tornBytes);
          } finally {
            closeSync(fd);
          }
          this.log.warn(
            { file: this.file, droppedBytes: tornBytes, kept: samples.length },
            'history file had a torn end (a write cut short); cut it there',
          );
        }
      }
    }
    if (!existsSync(this.file) || statSync(this.file).size === 0) writeFileAtomic(this.file, headerFrame(), 0o600);
    this.fd ??= openSync(this.file, 'a', 0o600);
    const cut = this.excess();
    if (cut > 0) {
      this.list = this.list.slice(cut);
      this.rewrite();
    }
    result.samples = this.list.length;
    return result;
  }

  private moveAside(): string {
    const aside = `${this.file}.bad-${Date.now()}`;
    renameSync(this.file, aside);
    return aside;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Adds a sample and appends it to the file (new pool labels first). */
  append(s: HistorySample): void {
    this.list.push(s);
    // old samples go in batches (a tenth of what is kept), so the file is rewritten rarely, not on every sample
    const cut = this.excess();
    if (cut >= Math.max(10, Math.floor((this.list.length - cut) / 10))) {
      this.list = this.list.slice(cut);
      this.rewrite();
      return;
    }
    if (this.fd === undefined) return;
    const parts: Buffer[] = [];
    const frameOut = sampleFrame(s, (label) => this.keyFor(label, parts));
    parts.push(frameOut);
    const data = Buffer.concat(parts);
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
  }

  private keyFor(label: string, out: Buffer[]): number {
    let key = this.keys.get(label);
    if (key === undefined) {
      key = this.keys.size;
      this.keys.set(label, key);
      out.push(poolFrame(key, label));
    }
    return key;
  }

  /** How many of the oldest samples are past retention or over the cap. */
  private excess(): number {
    const limitS = (this.list.at(-1)?.tS ?? 0) - this.retentionS;
    let cut = 0;
    while (cut < this.list.length && this.list[cut].tS <= limitS) cut++;
    return Math.max(cut, this.list.length - this.maxSamples);
  }

  /** The whole file anew, atomically: header, labels still in use, samples. */
  private rewrite(): void {
    this.keys.clear();
    const parts: Buffer[] = [headerFrame()];
    for (const s of this.list) {
      const f = sampleFrame(s, (label) => this.keyFor(label, parts));
      parts.push(f);
    }
    this.close();
    writeFileAtomic(this.file, Buffer.concat(parts), 0o600);
    this.fd = openSync(this.file, 'a', 0o600);
  }

  /**
   * Reads frames; a frame that does not check out is skipped by searching for the next one that does (a damaged
   * stretch loses only itself). `skipped` counts bytes in damaged stretches, `tornBytes` what follows the last good
   * frame.
   */
  private parse(buf: Buffer): {
    samples: HistorySample[];
    labels: Map<number, string>;
    skipped: number;
    tornBytes: number;
    isHistory: boolean;
  } {
    const samples: HistorySample[] = [];
    const labels = new Map<number, string>();
    const frameAt = (o: number, first: boolean) => {
      if (o + FRAME_OVERHEAD > buf.length) return undefined;
      const type = buf.readUInt8(o);
      const len = buf.readUInt16LE(o + 1);
      if (first ? type !== T_HEADER : type !== T_POOL && type !== T_SAMPLE) return undefined;
      if (len > MAX_PAYLOAD_BYTES || o + FRAME_OVERHEAD + len > buf.length) return undefined;
      if (crc32(buf.subarray(o, o + 3 + len)) !== buf.readUInt32LE(o + 3 + len)) return undefined;
      return { type, p: buf.subarray(o + 3, o + 3 + len), next: o + FRAME_OVERHEAD + len };
    };
    const head = frameAt(0, true);
    const isHistory =
      head !== undefined &&
      head.p.toString('latin1', 0, MAGIC.length) === MAGIC &&
      head.p.readUInt8(MAGIC.length) === FORMAT_VERSION;
    if (!head || !isHistory) return { samples, labels, skipped: 0, tornBytes: buf.length, isHistory: false };
    let o = head.next;
    let goodEnd = o;
    let skipped = 0;
    while (o < buf.length) {
      const f = frameAt(o, false);
      if (!f) {
        o++;
        continue;
      }
      skipped += o - goodEnd;
      if (f.type === T_POOL && f.p.length >= 2) labels.set(f.p.readUInt16LE(0), f.p.toString('utf8', 2));
      else if (f.type === T_SAMPLE) {
        const sample = parseSample(f.p, labels);
        if (sample) samples.push(sample);
        else skipped += f.next - o;
      }
      o = f.next;
      goodEnd = o;
    }
    return { samples, labels, skipped, tornBytes: buf.length - goodEnd, isHistory: true };
  }

  /**
   * The samples in [fromS, toS] as columns, at most about `points` rows: samples are merged into steps of whole
   * multiples of `intervalS` (hash rate and power averaged over time, temperatures their maximum, shares summed).
   */
  series(fromS: number, toS: number, points: number, intervalS: number): HistorySeries {
    const inRange = this.list.filter((s) => s.tS >= fromS && s.tS <= toS);
    const spanS = Math.max(intervalS, (inRange.at(-1)?.tS ?? 0) - (inRange[0]?.tS ?? 0));
    const stepS = intervalS * Math.max(1, Math.ceil(spanS / intervalS / Math.max(1, points)));
    const nBoards = inRange.reduce((n, s) => Math.max(n, s.boards.length), 0);
    const poolLabels = [...new Set(inRange.flatMap((s) => s.pools.map((p) => p.label)))];
    const out: HistorySeries = {
      stepS,
      t: [],
      hashrateHs: [],
      powerW: [],
      boards: Array.from({ length: nBoards }, (_, board) => ({ board, hashrateHs: [], powerW: [], maxChipC: [] })),
      pools: poolLabels.map((pool) => ({ pool, accepted: [], rejected: [] })),
    };
    const pushRow = (tS: number, group: HistorySample[] | undefined) => {
      out.t.push(tS);
      let totalH: number | null = null;
      let totalP: number | null = null;
      for (let b = 0; b < nBoards; b++) {
        const have = group?.filter((s) => s.boards[b]) ?? [];
        const span = have.reduce((a, s) => a + Math.max(1, s.spanS), 0);
        const h = have.length
          ? have.reduce((a, s) => a + s.boards[b].hashrateHs * Math.max(1, s.spanS), 0) / span
          : null;
        const p = have.length ? have.reduce((a, s) => a + s.boards[b].powerW * Math.max(1, s.spanS), 0) / span : null;
        const temps = have.map((s) => s.boards[b].maxChipC).filter((x) => Number.isFinite(x));
        const row = out.boards[b];
        row.hashrateHs.push(h);
        row.powerW.push(p);
        row.maxChipC.push(temps.length ? Math.max(...temps) : null);
        if (h !== null) totalH = (totalH ?? 0) + h;
        if (p !== null) totalP = (totalP ?? 0) + p;
      }
      out.hashrateHs.push(totalH);
      out.powerW.push(totalP);
      for (const row of out.pools) {
        const ps = group?.flatMap((s) => s.pools.filter((p) => p.label === row.pool)) ?? [];
        row.accepted.push(ps.length ? ps.reduce((a, p) => a + p.accepted, 0) : null);
        row.rejected.push(ps.length ? ps.reduce((a, p) => a + p.rejected, 0) : null);
      }
    };
    let group: HistorySample[] = [];
    let groupEnd = 0;
    for (const s of inRange) {
      const end = Math.ceil(s.tS / stepS) * stepS;
      if (group.length && end !== groupEnd) {
        pushRow(groupEnd, group);
        // no samples for a whole step or more (the daemon was stopped): a null row breaks the line there
        if (end - groupEnd > stepS) pushRow(groupEnd + stepS, undefined);
        group = [];
      }
      group.push(s);
      groupEnd = end;
    }
    if (group.length) pushRow(groupEnd, group);
    return out;
  }
}
