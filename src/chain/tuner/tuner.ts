import { EventEmitter } from 'node:events';
import type { Config } from '../../config/schema.js';
import { RATINGS } from '../../device/maijie-l7/ratings.js';
import type { Component } from '../../util/lifecycle.js';
import type { Logger } from '../../util/log.js';
import type { ChainController } from '../controller.js';
import { BoardTuner, type BoardTunerSettings } from './board-tuner.js';
import { splitTarget, takesShare } from './power-split.js';
import { ProfileStore } from './profile-store.js';
import { errorTest, searchTest } from './statistics.js';
import { ThermalDerate } from './thermal-derate.js';
import type { BoardObservation, TunerAction, TuningMode } from './types.js';

const TICK_MS = 1000;
/**
 * After a start the boards come up one by one (and may wait for the pool's first work). A board's share of the
 * miner's target is only right once every board that will mine is up: the first one up would take the whole target,
 * match no stored profile (each is saved for the board's share) and tune afresh. So for at most this long after a
 * start, no board begins while another that is not held off is still coming up.
 */
const START_GRACE_MS = 30_000;

interface Slot {
  chain: ChainController;
  tuner: BoardTuner | undefined;
  boardId: string;
  derate: ThermalDerate;
  /** the power the board drew when derating began (modes without a power target) */
  derateBaseW: number;
  busy: boolean;
  /**
   * The board's link work in order: the tuner's changes and mode off's restore run one after the other, never
   * interleaved (a restore that ran beside a change in flight was written over by the change's last steps, and their
   * requests crossed on the link)
   */
  queue: Promise<void>;
  /** why the tuner cannot tune this board (changes refused, every chip dead); undefined when it can */
  failure: string | undefined;
}

/**
 * Auto-tuning for the whole miner: one BoardTuner per board, fed once a second from the board's counters and the
 * supervisor's readings, acting only through the board's frequency and voltage paths (which throttling shares) and
 * only while the board is mining and not held. Splits the miner's target across boards, derates under heat, keeps
 * profiles per board serial. Events: 'change' (board index) when a board's stage or setting moves.
 */
export class Tuner extends EventEmitter implements Component {
  readonly name = 'tuner';
  readonly store: ProfileStore;
  private readonly slots: Slot[];
  private timer: NodeJS.Timeout | undefined;
  private cfg: Config['tuning'];

  constructor(
    chains: ChainController[],
    private config: Config,
    private readonly log: Logger,
  ) {
    super();
    this.cfg = config.tuning;
    this.store = new ProfileStore(config.daemon.state_dir);
    this.slots = chains.map((chain) => ({
      chain,
      tuner: undefined,
      boardId: '',
      derate: new ThermalDerate(),
      derateBaseW: 0,
      busy: false,
      queue: Promise.resolve(),
      failure: undefined,
    }));
  }

  get mode(): TuningMode {
    return this.cfg.mode;
  }

  get settings(): Config['tuning'] {
    return this.cfg;
  }

  private startedMs = 0;

  async start(): Promise<void> {
    this.startedMs = Date.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }

  /** Mode and targets changed (REST, reload): every board starts over, from a matching profile where one exists. */
  reconfigure(tuning: Config['tuning'], thermal: Config['thermal'] = this.config.thermal): void {
    this.cfg = tuning;
    this.config = { ...this.config, tuning, thermal };
    for (const s of this.slots) {
      if (!s.tuner) continue;
      const settings = this.boardSettings(s.chain);
      if (!settings) continue;
      s.tuner.reconfigure(settings, this.loadProfile(s.boardId));
      if (tuning.mode === 'off') {
        // back to the configured setting: the tuner lets go of the board
        void this.enqueue(s, () => this.restoreConfigured(s.chain));
      }
      this.emit('change', s.chain.index);
    }
    this.log.info({ mode: tuning.mode }, 'tuning settings changed');
  }

  /** A board's configured frequency changed since the start (config reload, ascset): what mode off goes back to. */
  private readonly configuredMHz = new Map<number, number>();

  setConfiguredMHz(board: number, freqMHz: number): void {
    this.configuredMHz.set(board, freqMHz);
  }

  /** Thermal limits changed (derating follows hot_c and throttle_hold_s). */
  setThermal(thermal: Config['thermal']): void {
    this.config = { ...this.config, thermal };
  }

  /** An operator's fresh tune of one board or all (the stored profile is replaced when it finishes). */
  retune(board?: number): number {
    let n = 0;
    for (const s of this.slots) {
      if (board !== undefined && s.chain.index !== board) continue;
      if (!s.tuner) continue;
      s.tuner.retune('requested by operator');
      n++;
    }
    return n;
  }

  /** Deletes the stored profiles of one board or all, and tunes those boards afresh. */
  resetProfiles(board?: number): number {
    // every stored profile when no board is named (boards swapped out since included); a board's serial from the
    // board itself when the tuner has not taken it up yet (tuning off since the start): its file is still there
    let removed = board === undefined ? this.store.reset() : 0;
    for (const s of this.slots) {
      if (board !== undefined && s.chain.index !== board) continue;
      const id = s.boardId || s.chain.info.boardId.trim();
      if (board !== undefined && id) removed += this.store.reset(id);
      s.tuner?.retune('profile reset');
    }
    this.log.info({ board, removed }, 'tuning profiles reset');
    return removed;
  }

  /** Boards the tuner cannot tune, and why (for alerts). */
  failures(): { board: number; failed: boolean; reason: string }[] {
    return this.slots.map((s) => {
      const t = s.tuner;
      const allDead = t !== undefined && t.freqsMHz.length > 0 && t.dead.size >= t.freqsMHz.length;
      const reason = s.failure ?? (allDead ? 'every chip failed at the lowest frequency' : '');
      return { board: s.chain.index, failed: reason !== '', reason };
    });
  }

  boards(): { chain: ChainController; tuner: BoardTuner | undefined; boardId: string; derate: ThermalDerate }[] {
    return this.slots.map((s) => ({ chain: s.chain, tuner: s.tuner, boardId: s.boardId, derate: s.derate }));
  }

  private boardSettings(c: ChainController): BoardTunerSettings | undefined {
    const e = c.info.eeprom;
    if (!e || !c.hashesPerClock) return undefined;
    return {
      mode: this.cfg.mode,
      errorTest: errorTest(this.cfg.max_hw_error_rate),
      searchTest: searchTest(this.cfg.max_hw_error_rate),
      settleMs: this.cfg.settle_s * 1000,
      minMv: Math.max(RATINGS.voltageMinMv, e.minMv),
      maxMv: Math.min(RATINGS.voltageMaxMv, e.maxMv),
      startMHz: e.factoryMHz > 0 ? e.factoryMHz : c.config.frequency_mhz,
      hashesPerClock: c.hashesPerClock * 2 ** c.scaleShift,
      retuneInletDeltaC: this.cfg.retune_inlet_delta_c,
    };
  }

  private loadProfile(boardId: string) {
    try {
      return this.store.load(boardId);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'tuning profile unreadable; the board is tuned afresh');
      return undefined;
    }
  }

  private ready(c: ChainController): boolean {
    return c.state === 'mining' && c.safetyReason === undefined && c.chips.length > 0;
  }

  private observe(c: ChainController, nowMs: number): BoardObservation {
    const perReply = c.hashesPerClock * 1e6 * 2 ** -Math.max(0, c.ticket);
    return {
      nowMs,
      ready: this.ready(c),
      chips: c.chipCounts().map((k) => ({ nonces: k.nonces, hwErrors: k.hwErrors, replies: k.replies })),
      expectedRepliesPerS: c.chipMHz.map((f) => f * perReply),
      voltageMv: c.voltageMv,
      powerW: c.readings.heatW,
      maxChipC: c.readings.maxChipC,
      inletC: c.readings.inletC,
    };
  }

  private tick(): void {
    const now = Date.now();
    if (this.cfg.mode === 'off') return;
    const avail = this.slots.map((s) => ({
      available: this.ready(s.chain) || takesShare(s.chain.state, s.chain.sm.held),
    }));
    const powerShares = splitTarget(this.cfg.power_target_w, avail);
    const hashShares = splitTarget(this.cfg.hashrate_target_ths * 1e12, avail);
    const comingUp = this.slots.some(
      (s) =>
        !this.ready(s.chain) &&
        s.chain.state !== 'stopped' &&
        !s.chain.sm.holds.has('safety') &&
        !s.chain.sm.holds.has('pause'),
    );
    const awaitBoards = comingUp && now - this.startedMs < START_GRACE_MS;
    this.slots.forEach((s, i) => {
      const c = s.chain;
      if (!s.tuner && this.ready(c)) {
        if (awaitBoards) return;
        const settings = this.boardSettings(c);
        if (!settings) return;
        s.boardId = c.info.boardId.trim();
        s.tuner = new BoardTuner(settings, this.loadProfile(s.boardId));
      }
      const t = s.tuner;
      if (!t || s.busy) return;
      if (c.info.boardId.trim() !== s.boardId && this.ready(c)) {
        // another board in this slot: its own profile, or a fresh tune
        s.boardId = c.info.boardId.trim();
        const settings = this.boardSettings(c);
        if (settings) t.reconfigure(settings, this.loadProfile(s.boardId));
      }
      const derated = s.derate.update(now, c.readings.maxChipC, {
        hotC: this.config.thermal.hot_c,
        holdMs: this.config.thermal.throttle_hold_s * 1000,
      });
      if (derated) {
        if (s.derate.steps === 1 && this.cfg.mode !== 'power') s.derateBaseW = c.readings.heatW;
        this.log.info({ board: i, steps: s.derate.steps, factor: s.derate.factor }, 'tuner power target derated');
      }
      const powerW = this.cfg.mode === 'power' ? powerShares[i] : undefined;
      const base = powerW ?? s.derateBaseW;
      t.setTargets({
        powerW,
        hashrateHs: this.cfg.mode === 'hashrate' ? hashShares[i] : undefined,
        capW: s.derate.steps > 0 && base > 0 ? base * s.derate.factor : undefined,
      });
      const before = `${t.stage}`;
      const acts = t.tick(this.observe(c, now));
      if (acts.length) {
        s.busy = true;
        void this.enqueue(s, () => this.apply(s, acts));
      }
      if (acts.length || t.stage !== before) this.emit('change', i);
    });
  }

  /** Runs `work` after the board's earlier link work, whatever became of it. */
  private enqueue(s: Slot, work: () => Promise<void>): Promise<void> {
    s.queue = s.queue.then(work, work);
    return s.queue;
  }

  private async apply(s: Slot, acts: TunerAction[]): Promise<void> {
    s.busy = true;
    const c = s.chain;
    try {
      for (const a of acts) {
        // a board not ready, or tuning turned off meanwhile (mode off's restore is queued after this): no more
        if (!this.ready(c) || this.cfg.mode === 'off') return;
        if (a.kind === 'voltage') await c.setVoltage(a.voltageMv);
        else if (a.kind === 'freqs') await c.setChipFreqs(a.freqsMHz);
        else if (a.kind === 'measure')
          c.setNonceRate(a.on ? Math.max(this.cfg.measure_nonces_per_chip_s, this.cfg.nonces_per_chip_s) : undefined);
        else if (a.kind === 'save' && s.tuner && s.boardId) {
          this.store.save({ ...s.tuner.profile(), boardId: s.boardId });
        }
      }
      s.failure = undefined;
    } catch (err) {
      s.failure = `could not apply a change: ${(err as Error).message}`;
      this.log.warn({ board: c.index, err: (err as Error).message }, 'tuner could not apply a change');
    } finally {
      s.busy = false;
    }
  }

  /** Mode off: the configured frequency and voltage again. */
  private async restoreConfigured(c: ChainController): Promise<void> {
    if (!this.ready(c)) return;
    try {
      c.setNonceRate(undefined);
      // as the tuner orders its own changes: a voltage going down after the frequencies, so no chip runs a tuned
      // frequency its lower configured voltage cannot hold; a voltage going up before them
      const freqMHz = this.configuredMHz.get(c.index) ?? c.config.frequency_mhz;
      if (c.config.voltage_mv < c.voltageMv) {
        await c.setFrequency(freqMHz);
        await c.setVoltage(c.config.voltage_mv);
      } else {
        await c.setVoltage(c.config.voltage_mv);
        await c.setFrequency(freqMHz);
      }
    } catch (err) {
      this.log.warn({ board: c.index, err: (err as Error).message }, 'could not restore the configured setting');
    }
  }
}
