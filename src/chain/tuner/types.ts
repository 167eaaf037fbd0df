// What the tuner reads of a board, and what it asks of it. The tuner itself touches no device: a driver applies
// its actions through the board's frequency and voltage path, the same one throttling uses.

export type TuningMode = 'off' | 'efficiency' | 'hashrate' | 'power';

export type TunerStage = 'off' | 'waiting' | 'restoring' | 'searching' | 'settling' | 'validating' | 'tuned';

/** Counters of one chip since bring-up (cumulative): the tuner works on differences. */
export interface ChipCounts {
  /** verified nonces */
  nonces: number;
  /** replies that failed verification */
  hwErrors: number;
  /** every reply the chip sent that arrived: good, bad, stale or duplicate */
  replies: number;
}

export interface BoardObservation {
  nowMs: number;
  /** mining, and not held off by safety: the tuner acts only then */
  ready: boolean;
  chips: ChipCounts[];
  /** replies each chip should send per second at its frequency and the board's ticket */
  expectedRepliesPerS: number[];
  voltageMv: number;
  /** board power in real-sized watts */
  powerW: number;
  maxChipC: number;
  inletC: number;
}

export type TunerAction =
  | { kind: 'voltage'; voltageMv: number }
  | { kind: 'freqs'; freqsMHz: number[] }
  /** raise (true) or restore (false) the nonce rate: tuning steps need replies */
  | { kind: 'measure'; on: boolean }
  | { kind: 'save' };

/** One measured point of the board's efficiency curve: every chip at its limit (or its tuned share). */
export interface CurvePoint {
  voltageMv: number;
  powerW: number;
  hashrateHs: number;
  jPerTh: number;
  atMs: number;
}

/** What is kept per board serial, so a known board starts tuned. */
export interface TuningProfile {
  version: 1;
  boardId: string;
  mode: TuningMode;
  /** the board's share of the target it was tuned for (W or H/s; 0 for efficiency) */
  targetValue: number;
  voltageMv: number;
  /** tuned frequency of each chip */
  freqsMHz: number[];
  /** highest frequency each chip held at voltageMv */
  limitsMHz: number[];
  dead: number[];
  inletC: number;
  curve: CurvePoint[];
  savedAtMs: number;
}
