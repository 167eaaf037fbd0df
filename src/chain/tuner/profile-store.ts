import { mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RATINGS } from '../../device/maijie-l7/ratings.js';
import { sweepTempFiles, writeFileAtomic } from '../../util/atomic-file.js';
import type { CurvePoint, TuningMode, TuningProfile } from './types.js';

// Tuning profiles, one file per board serial (BOARD_ID) under <state_dir>/tuning, each written atomically: a crash
// or a SIGKILL mid-save leaves the old profile or the new one, whole. A file that does not read as a profile is
// reported and ignored (the board is tuned afresh), never half-applied.

const MODES: readonly TuningMode[] = ['off', 'efficiency', 'hashrate', 'power'];
/** Far above any real profile (256 chips, 16 curve points: tens of KiB), far below what stalls the daemon. */
const MAX_PROFILE_BYTES = 1 << 20;

export class ProfileError extends Error {
  constructor(
    readonly file: string,
    what: string,
  ) {
    super(`${file}: ${what}`);
  }
}

/** A board serial as a file name: letters, digits, dot, dash and underscore; anything else becomes '_'. */
export function profileFileName(boardId: string): string {
  const safe = boardId
    .trim()
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '_');
  return `${safe || 'unnamed'}.json`;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNumArray = (v: unknown): v is number[] => Array.isArray(v) && v.every(isNum);

/** Checks a parsed profile field by field; throws a ProfileError naming the first bad field. */
export function parseProfile(file: string, text: string): TuningProfile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ProfileError(file, `not JSON (${(err as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ProfileError(file, 'expected an object');
  const o = v as Record<string, unknown>;
  const bad = (k: string, want: string) => new ProfileError(file, `${k}: expected ${want}`);
  if (o.version !== 1) throw bad('version', '1');
  if (typeof o.boardId !== 'string') throw bad('boardId', 'a string');
  if (typeof o.mode !== 'string' || !MODES.includes(o.mode as TuningMode)) throw bad('mode', MODES.join(' | '));
  for (const k of ['targetValue', 'voltageMv', 'inletC', 'savedAtMs']) if (!isNum(o[k])) throw bad(k, 'a number');
  for (const k of ['freqsMHz', 'limitsMHz', 'dead']) if (!isNumArray(o[k])) throw bad(k, 'an array of numbers');
  const freqs = o.freqsMHz as number[];
  if (freqs.length > RATINGS.chipsMax) throw bad('freqsMHz', `at most ${RATINGS.chipsMax} chips`);
  const { freqMinMHz: fLo, freqMaxMHz: fHi, voltageMinMv: vLo, voltageMaxMv: vHi } = RATINGS;
  const outside = (f: number) => f < fLo || f > fHi;
  if (freqs.some(outside)) throw bad('freqsMHz', `frequencies within ${fLo}–${fHi} MHz`);
  if ((o.limitsMHz as number[]).length !== freqs.length) throw bad('limitsMHz', 'one limit per chip');
  // a limit is what a chip held, so within the ratings too: one past them would let a trim aim past what was seen
  if ((o.limitsMHz as number[]).some(outside)) throw bad('limitsMHz', `limits within ${fLo}–${fHi} MHz`);
  if ((o.voltageMv as number) < vLo || (o.voltageMv as number) > vHi)
    throw bad('voltageMv', `a voltage within ${vLo}–${vHi} mV`);
  // dead chips are never tested again: an index that is no chip, or one listed twice, would count a chip as dead
  // that still runs untested at the profile's frequency
  const dead = o.dead as number[];
  if (dead.some((d) => !Number.isInteger(d) || d < 0 || d >= freqs.length) || new Set(dead).size !== dead.length)
    throw bad('dead', 'distinct chip indices under the chip count');
  // the tuner keeps 16 points; a longer curve would be served in every tuning view and WebSocket push
  if (!Array.isArray(o.curve) || o.curve.length > 64) throw bad('curve', 'an array of at most 64 points');
  const curve: CurvePoint[] = [];
  for (const [i, p] of (o.curve as unknown[]).entries()) {
    const q = p as Record<string, unknown>;
    if (
      q === null ||
      typeof q !== 'object' ||
      !['voltageMv', 'powerW', 'hashrateHs', 'jPerTh', 'atMs'].every((k) => isNum(q[k]))
    )
      throw bad(`curve[${i}]`, 'voltageMv, powerW, hashrateHs, jPerTh and atMs numbers');
    curve.push({
      voltageMv: q.voltageMv as number,
      powerW: q.powerW as number,
      hashrateHs: q.hashrateHs as number,
      jPerTh: q.jPerTh as number,
      atMs: q.atMs as number,
    });
  }
  return {
    version: 1,
    boardId: o.boardId,
    mode: o.mode as TuningMode,
    targetValue: o.targetValue as number,
    voltageMv: o.voltageMv as number,
    freqsMHz: freqs,
    limitsMHz: o.limitsMHz as number[],
    dead: o.dead as number[],
    inletC: o.inletC as number,
    curve,
    savedAtMs: o.savedAtMs as number,
  };
}

export class ProfileStore {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'tuning');
  }

  fileOf(boardId: string): string {
    return join(this.dir, profileFileName(boardId));
  }

  /** The stored profile of a board, undefined when there is none; a bad file throws a ProfileError. */
  load(boardId: string): TuningProfile | undefined {
    const file = this.fileOf(boardId);
    sweepTempFiles(file);
    let text: string;
    try {
      // read on the event loop at every start and mode change: a huge file (hostile, or garbage) would stall the
      // daemon for seconds and take its memory; a real profile of 256 chips and its curve is a few tens of KiB
      const size = statSync(file).size;
      if (size > MAX_PROFILE_BYTES) throw new ProfileError(file, `${size} bytes, more than a profile can be`);
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (err instanceof ProfileError) throw err;
      throw new ProfileError(file, (err as Error).message);
    }
    const p = parseProfile(file, text);
    if (p.boardId !== boardId) throw new ProfileError(file, `belongs to board ${JSON.stringify(p.boardId)}`);
    return p;
  }

  save(p: TuningProfile): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(this.fileOf(p.boardId), `${JSON.stringify(p, null, 1)}\n`, 0o600);
  }

  /** Removes one board's profile, or every profile; returns how many went. */
  reset(boardId?: string): number {
    const names =
      boardId === undefined
        ? (() => {
            try {
              return readdirSync(this.dir).filter((n) => n.endsWith('.json'));
            } catch {
              return [];
            }
          })()
        : [profileFileName(boardId)];
    let removed = 0;
    for (const n of names) {
      try {
        unlinkSync(join(this.dir, n));
        removed++;
      } catch {
        // not there: nothing to reset
      }
    }
    return removed;
  }
}
