import { EventEmitter } from 'node:events';
import type { ChainConfig, Config } from '../config/schema.js';
import { ChainLink, type NonceReply, versionMaskRegister } from '../device/maijie-l7/chain-link.js';
import { type Eeprom, McuClient } from '../device/maijie-l7/mcu.js';
import { ticketDifficulty, ticketZeros } from '../device/maijie-l7/pll.js';
import { RATINGS } from '../device/maijie-l7/ratings.js';
import { REG } from '../device/maijie-l7/registers.js';
import { openChainTransport, openMcuTransport } from '../device/transport/index.js';
import type { ByteTransport, McuTransport } from '../device/transport/types.js';
import { HashMeter } from '../monitor/meter.js';
import type { PoolManager } from '../pool/manager/manager.js';
import { difficultyOfHash, leadingZeroBits, meetsTarget } from '../pool/work/target.js';
import type { Job } from '../pool/work/work.js';
import type { Component } from '../util/lifecycle.js';
import type { Logger } from '../util/log.js';
import { type BoardState, BoardStateMachine, type HoldKind } from './board-state.js';
import { chipWalkMs, reachableShare, refreshMsFor, uartMsPerJob } from './feed-estimate.js';
import { FrequencyPlan } from './frequency-plan.js';
import { RecentNonces } from './recent-nonces.js';
import { type ChipStats, newChipStats } from './stats.js';
import { nonceKey, SLOTS, WorkQueue } from './work-queue.js';

export type ChainState = BoardState;

const MAX_REFRESH_MS = 20_000;
const MIN_REFRESH_MS = 100;
const SHARED_REFRESH_MS = 500;
/** Per-chip diagnostics (silent chips, replies lost on the link): off the safety path, this often. */
const DIAGNOSTICS_MS = 15_000;

export interface BoardInfo {
  boardId: string;
  fwVersion: number;
  eeprom: Eeprom | undefined;
}

/** What the safety supervisor last read from the board MCU. */
export interface BoardReadings {
  /** chip die sensors only */
  tempsC: number[];
  inletC: number;
  outletC: number;
  /** hottest chip die (the PCB sensors are not chips) */
  maxChipC: number;
  voltageMv: number;
  powerW: number;
  /** POWER_W scaled back to the heat the board gives off (a scale model reports POWER_W 2^s smaller) */
  heatW: number;
  powerOn: boolean;
  faults: number;
  atMs: number;
}

/** What the safety supervisor shows about a board (set by its guard). */
export interface SafetyStatus {
  /** why the supervisor holds the board (null: it does not) */
  hold: string | null;
  reasons: string[];
  /** power-offs that failed or did not take */
  powerOffFailures: number;
  /** times the supervisor stopped feeding the watchdog to have the MCU cut power */
  escalations: number;
  /** the watchdog is being left unfed right now */
  escalated: boolean;
  trips: number;
  /** the supervisor's last successful read of this board (ms since epoch; 0: never) */
  lastReadMs: number;
}

export interface ChipCounts {
  chip: number;
  address: number;
  freqMHz: number;
  nonces: number;
  hwErrors: number;
  replies: number;
}

/**
 * One hash board: brings it up, keeps every chip fed, verifies every nonce, turns results into shares, and sets chip
 * frequencies and the board voltage through one path each. It owns no safety decision: the supervisor
 * (src/monitor/supervisor.ts) reads the board, holds it and powers it off; this controller obeys the holds through
 * its state machine. Events: 'state' (state, cause), sent again when the supervisor's view of the board changes.
 */
export class ChainController extends EventEmitter implements Component {
  readonly name: string;
  readonly sm: BoardStateMachine;
  readonly meter = new HashMeter();
  readonly plan: FrequencyPlan;
  chips: ChipStats[] = [];
  /** Per chip: the frequency its PLL was last set to. */
  chipMHz: number[] = [];
  info: BoardInfo = { boardId: '', fwVersion: 0, eeprom: undefined };
  readings: BoardReadings = {
    tempsC: [],
    inletC: Number.NaN,
    outletC: Number.NaN,
    maxChipC: Number.NaN,
    voltageMv: 0,
    powerW: 0,
    heatW: 0,
    powerOn: false,
    faults: 0,
    atMs: 0,
  };
  readonly counters = {
    hwErrors: 0,
    staleNonces: 0,
    unknownJobIds: 0,
    duplicates: 0,
    noncesLost: 0,
    reinits: 0,
    throttleSteps: 0,
    bringupFailures: 0,
    sharesFound: 0,
    bestShare: 0,
    accepted: 0,
    rejected: 0,
    acceptedDifficulty: 0,
    rejectedDifficulty: 0,
    lastShareMs: 0,
    lastSharePool: -1,
    lastShareDifficulty: 0,
    jobsSent: 0,
  };
  /** The voltage the board was set to (mV). */
  voltageMv = 0;
  hashesPerClock = 0;
  /** HASH_INFO's scale shift: 0 on a real L7, s on the scale model (whose POWER_W is 2^s smaller too). */
  scaleShift = 0;
  ticket = 0;
  interval = 1;
  addresses: number[] = [];
  brokenAt: number | undefined;
  refreshMs = MAX_REFRESH_MS;
  /** The supervisor's view of this board (its guard replaces this). */
  safety: () => SafetyStatus = () => ({
    hold: this.safetyReason ?? null,
    reasons: [],
    powerOffFailures: 0,
    escalations: 0,
    escalated: false,
    trips: 0,
    lastReadMs: 0,
  });
  /** Power the board drew the last time it mined (W, heat-sized): what the fans should expect at the next start. */
  lastMiningHeatW = 0;

  readonly uart: ByteTransport;
  readonly mcuLink: McuTransport;
  private readonly link: ChainLink;
  private readonly mcu: McuClient;
  private readonly queue: WorkQueue;
  private currentJob: Job | undefined;
  private chipVersionMask = -1;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** nonces verified lately, to catch a chip repeating one */
  private readonly recent = new RecentNonces();
  /** each verified nonce's header hash, read before the next one is written */
  private readonly hashOut = Buffer.alloc(32);
  private retries = 0;
  private stopped = false;
  private miningSinceMs = 0;
  private freqBusy = false;
  private freqPending = false;
  private freqEpoch = -1;
  private readonly log: Logger;
  private thermal: Config['thermal'];

  constructor(
    readonly index: number,
    readonly config: ChainConfig,
    chainsTotal: number,
    thermal: Config['thermal'],
    private readonly pools: PoolManager,
    log: Logger,
    /** Nonces a chip should report per second: enough to measure it, few enough to keep the link idle. */
    private readonly noncesPerChipS = 4,
  ) {
    super();
    this.name = `chain${index}`;
    this.thermal = thermal;
    this.plan = new FrequencyPlan(config.frequency_mhz);
    this.log = log.child({ component: this.name });
    this.sm = new BoardStateMachine(this.log);
    this.sm.on('state', (s: BoardState, cause: string) => this.emit('state', s, cause));
    this.queue = new WorkQueue(index, chainsTotal);
    this.uart = openChainTransport(config.uart);
    this.mcuLink = openMcuTransport(config.spi);
    this.link = new ChainLink(this.uart, this.log);
    this.mcu = new McuClient(this.mcuLink, this.log);
    this.link.onNonce = (r) => this.onNonce(r);
    this.uart.on('lost', (reason: string) => this.lose(`chain link lost: ${reason}`));
    this.mcuLink.on('lost', (reason: string) => this.lose(`board MCU lost: ${reason}`));
    pools.onJob((job, why) => this.onPoolJob(job, why));
  }

  get state(): ChainState {
    return this.sm.state;
  }

  get stateReason(): string {
    return this.sm.cause;
  }

  get linkCounters() {
    return this.link.counters;
  }

  get mcuCounters() {
    return this.mcu.counters;
  }

  /** The board's frequency: its fastest chip (all chips run at one frequency unless tuned per chip). */
  get freqMHz(): number {
    return this.chipMHz.length ? Math.max(...this.chipMHz) : 0;
  }

  /** The frequency asked for (config, an operator's ascset, the tuner); throttling keeps the chips at or below it. */
  get wantMHz(): number {
    return this.plan.wantMHz;
  }

  /** The thermal throttle ceiling (undefined: not throttled). */
  get throttleMHz(): number | undefined {
    return this.plan.ceilingMHz;
  }

  /** Hashes per second the chips should make at their frequencies. */
  get idealHashrateHs(): number {
    return this.chipMHz.reduce((a, f) => a + f, 0) * 1e6 * this.hashesPerClock;
  }

  /** Whether the board should be powered now (the supervisor compares this with POWER_EN). */
  get wantsPower(): boolean {
    return this.state === 'mining' || this.state === 'bringup';
  }

  async start(): Promise<void> {
    this.stopped = false;
    // bring-up runs in the background: a board that is missing must not hold the daemon's start
    void this.connect('starting');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sm.fire('stop', 'daemon stopping');
    clearTimeout(this.refreshTimer);
    // Safety: leave the board powered off
    if (this.mcuLink.isOpen) {
      try {
        await this.mcu.setPower(false);
        this.log.info('board powered off');
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'could not power the board off; its MCU watchdog will');
      }
    }
    await this.uart.close();
    await this.mcuLink.close();
  }

  // ---- holds: pause, no work, safety ----------------------------------------------------------------------------

  /** Sets or lifts one hold. A held board is powered off and nothing powers it on until every hold is lifted. */
  private setHold(kind: HoldKind, reason: string | undefined): void {
    if (reason === undefined) {
      if (!this.sm.holds.delete(kind)) return;
      this.log.info({ hold: kind }, `${kind} hold lifted`);
      if (this.sm.heldState() === undefined) {
        if (this.state === 'paused' || this.state === 'idle' || this.state === 'cooling')
          void this.connect(`${kind} hold lifted`);
      } else if (this.state !== 'lost' && this.state !== 'stopped') this.sm.fire('hold', '');
      return;
    }
    this.sm.holds.set(kind, reason);
    // a lost board keeps the hold for when its links are back
    if (this.state === 'lost' || this.state === 'stopped') return;
    clearTimeout(this.refreshTimer);
    this.sm.fire('hold', reason);
    // the supervisor powers boards off for safety (and checks every held board is off); an operator's pause or an
    // idle pool is this controller's own request
    if (kind !== 'safety') void this.powerOff(reason);
  }

  /** Curtailment: chips idle and the board powered off, until resume(). A paused board stays off through a replug. */
  async pause(): Promise<void> {
    this.setHold('pause', 'paused by operator');
  }

  async resume(): Promise<void> {
    this.setHold('pause', undefined);
  }

  /** No usable pool: the board idles powered off, and starts again at once when work returns. */
  setNoWork(on: boolean): void {
    this.setHold('no-work', on ? 'no usable pool: idle, powered off' : undefined);
  }

  /** The supervisor's safety hold: only the supervisor sets and lifts it. */
  safetyHold(reason: string): void {
    if (this.sm.holds.get('safety') === reason) return;
    this.setHold('safety', reason);
  }

  safetyRelease(): void {
    this.setHold('safety', undefined);
  }

  get safetyReason(): string | undefined {
    return this.sm.holds.get('safety');
  }

  private async powerOff(why: string): Promise<void> {
    if (!this.mcuLink.isOpen) return;
    try {
      await this.mcu.setPower(false);
    } catch (err) {
      // the supervisor sees POWER_EN still on at its next read, retries and escalates
      this.log.error({ err: (err as Error).message, why }, 'could not power the board off; the supervisor retries');
    }
  }

  /** The supervisor read POWER_EN off while the board should run: the MCU cut it (watchdog, trip). */
  powerCut(cause: string): void {
    if (!this.wantsPower || this.stopped) return;
    this.counters.reinits++;
    void this.bringUp(`power cut by the board: ${cause}`);
  }

  /** The supervisor can no longer reach the board MCU. */
  mcuLost(cause: string): void {
    this.lose(cause);
  }

  // ---- frequency and voltage: one path each ---------------------------------------------------------------------

  /** Every chip wanted at one frequency (cgminer ascset freq). */
  async setFrequency(freqMHz: number): Promise<void> {
    if (this.state !== 'mining') throw new Error(`board ${this.index} is ${this.state}`);
    this.plan.setAll(freqMHz);
    await this.applyFrequencies();
  }

  /**
   * Per-chip wanted frequencies (the tuner's seam): clamped to the ratings and run under the throttle ceiling.
   * Resolves with what each chip runs at afterwards.
   */
  async setChipFreqs(freqsMHz: readonly number[]): Promise<number[]> {
    if (this.state !== 'mining') throw new Error(`board ${this.index} is ${this.state}`);
    this.plan.setChips(freqsMHz);
    await this.applyFrequencies();
    return [...this.chipMHz];
  }

  /** Thermal throttling's ceiling (undefined: lifted); the chips follow in the background. */
  setThrottleCeiling(ceilingMHz: number | undefined): void {
    const next = ceilingMHz === undefined ? undefined : FrequencyPlan.clamp(ceilingMHz);
    if (next === this.plan.ceilingMHz) return;
    this.plan.ceilingMHz = next;
    this.counters.throttleSteps++;
    if (this.state === 'mining')
      this.applyFrequencies().catch((err) => this.log.warn({ err: (err as Error).message }, 'frequency change failed'));
  }

  /** Board voltage (the tuner's seam): held inside the board EEPROM range and the ratings. Resolves with the mV set. */
  async setVoltage(mv: number): Promise<number> {
    if (this.state !== 'mining') throw new Error(`board ${this.index} is ${this.state}`);
    const set = this.clampVoltage(mv);
    await this.mcu.setVoltage(set);
    this.voltageMv = set;
    return set;
  }

  private clampVoltage(mv: number): number {
    const e = this.info.eeprom;
    const lo = Math.max(RATINGS.voltageMinMv, e?.minMv ?? RATINGS.voltageMinMv);
    const hi = Math.min(RATINGS.voltageMaxMv, e?.maxMv ?? RATINGS.voltageMaxMv);
    return Math.round(Math.min(hi, Math.max(lo, mv)));
  }

  private nonceRate: number | undefined;

  /** Nonces per chip a second while the tuner measures chips (undefined: the configured rate); sets TICKET_ZEROS. */
  setNonceRate(perChipS: number | undefined): void {
    this.nonceRate = perChipS;
    if (this.state === 'mining') this.updateTicket(this.currentJob?.difficulty);
  }

  /** Per-chip counts the tuner reads: verified nonces and hardware errors since the board came up. */
  chipCounts(): ChipCounts[] {
    return this.chips.map((c, i) => ({
      chip: c.index,
      address: c.address,
      freqMHz: this.chipMHz[i] ?? 0,
      nonces: c.nonces,
      hwErrors: c.hwErrors,
      replies: c.replies,
    }));
  }

  /** Ramps every chip to what the plan says now; concurrent requests fold into one more pass. */
  private async applyFrequencies(): Promise<void> {
    // a ramp of an earlier state (before a re-init) stops at its next check; only one of this state's runs at a time
    if (this.freqBusy && this.freqEpoch === this.sm.epoch) {
      this.freqPending = true;
      return;
    }
    this.freqBusy = true;
    const epoch = this.sm.epoch;
    this.freqEpoch = epoch;
    try {
      do {
        this.freqPending = false;
        const target = this.plan.effective();
        const groups = new Map<string, { from: number; to: number; idx: number[] }>();
        this.addresses.forEach((_, i) => {
          const from = this.chipMHz[i] ?? RATINGS.freqMinMHz;
          const to = target[i] ?? target[0];
          if (from === to) return;
          const k = `${from}>${to}`;
          const g = groups.get(k) ?? { from, to, idx: [] };
          g.idx.push(i);
          groups.set(k, g);
        });
        for (const g of groups.values()) {
          const got = await this.link.rampFrequency(
            g.idx.map((i) => this.addresses[i]),
            g.from,
            g.to,
          );
          if (!this.sm.live(epoch)) return;
          for (const i of g.idx) this.chipMHz[i] = got;
        }
        this.ticket = -1;
        this.updateTicket(this.currentJob?.difficulty);
      } while (this.freqPending && this.sm.live(epoch));
    } finally {
      if (this.freqEpoch === epoch) this.freqBusy = false;
    }
  }

  /** Brings the board up again from power-on (operator restart); a held board stays off. */
  async restart(): Promise<void> {
    if (this.stopped) return;
    if (this.sm.held) {
      this.log.warn({ hold: this.sm.holdCause() }, 'restart refused: the board is held');
      return;
    }
    this.counters.reinits++;
    await this.connect('restart requested');
  }

  async locate(on: boolean): Promise<void> {
    // any request feeds the watchdog: while the supervisor starves it on purpose, the MCU gets none
    if (this.safety().escalated) throw new Error(`board ${this.index}: its MCU is being left to cut power`);
    await this.mcu.setLed(on ? 2 : 0);
  }

  /** Thermal limits apply live (the watchdog at the next bring-up). */
  reload(next: Config, changed: string[]): string[] {
    this.thermal = next.thermal;
    return changed.filter((k) => k.startsWith('thermal.'));
  }

  // ---- links, bring-up ------------------------------------------------------------------------------------------

  private lose(reason: string): void {
    if (this.stopped || this.state === 'lost') return;
    clearTimeout(this.refreshTimer);
    this.sm.fire('lost', reason);
    const epoch = this.sm.epoch;
    void this.powerOffAndClose().then(() => {
      if (this.sm.live(epoch)) this.scheduleRetry();
    });
  }

  /** Safety first: whatever was lost, try to power the board off through whichever link still works. */
  private async powerOffAndClose(): Promise<void> {
    if (this.mcuLink.isOpen) {
      try {
        await this.mcu.setPower(false);
      } catch {
        // unreachable: its watchdog powers it off
      }
    }
    await this.uart.close();
    await this.mcuLink.close();
  }

  /** A timer of the lost state: it dies with the state. */
  private scheduleRetry(): void {
    if (this.stopped) return;
    const wait = Math.min(30_000, 1000 * 2 ** Math.min(this.retries, 5));
    this.retries++;
    this.sm.timer(() => void this.connect('retrying the board'), wait);
  }

  private async openLinks(): Promise<void> {
    try {
      if (!this.mcuLink.isOpen) await this.mcuLink.open();
      if (!this.uart.isOpen) await this.uart.open();
    } finally {
      // stop() closed only what was open when it ran: a link that finished opening after it would stay open for
      // good (and keep the process from exiting)
      if (this.stopped) {
        await this.uart.close();
        await this.mcuLink.close();
      }
    }
    if (this.stopped) throw new Error('stopped while opening the board links');
  }

  /** Links open, then bring-up; with a hold set, the held state instead (links open so the supervisor can read). */
  private async connect(cause: string): Promise<void> {
    if (this.stopped) return;
    if (!this.sm.held) return this.bringUp(cause);
    const epoch = this.sm.epoch;
    let on: boolean;
    try {
      await this.openLinks();
      // the MCU must answer before the board is shown held (off): one that does not leaves its power unknown
      on = await this.mcu.power();
    } catch (err) {
      if (!this.sm.live(epoch) || this.stopped) return;
      if (this.state !== 'lost') this.sm.fire('lost', (err as Error).message);
      const lostEpoch = this.sm.epoch;
      await this.uart.close();
      await this.mcuLink.close();
      if (this.sm.live(lostEpoch)) this.scheduleRetry();
      return;
    }
    if (!this.sm.live(epoch) || this.stopped) return;
    this.sm.fire('hold', '');
    const why = this.sm.holdCause();
    if (on && !this.sm.holds.has('safety')) await this.powerOff(why);
  }

  private async bringUp(cause: string): Promise<void> {
    if (this.stopped) return;
    clearTimeout(this.refreshTimer);
    if (!this.sm.fire('bringup', cause)) return;
    const epoch = this.sm.epoch;
    const live = () => this.sm.live(epoch) && !this.stopped;
    try {
      await this.openLinks();
      if (!live()) return;
      const eeprom = await this.mcu.eeprom();
      this.info = { boardId: await this.mcu.boardId(), fwVersion: await this.mcu.fwVersion(), eeprom };
      const faults = await this.mcu.faults();
      if (faults) this.log.warn({ faults }, 'board reports earlier faults; clearing them');
      await this.mcu.clearFaults();
      const mv = this.clampVoltage(this.voltageMv || this.config.voltage_mv);
      if (mv !== this.config.voltage_mv && this.voltageMv === 0)
        this.log.warn({ wanted: this.config.voltage_mv, mv, eeprom }, 'voltage held inside the board EEPROM range');
      await this.mcu.setVoltage(mv);
      this.voltageMv = mv;
      await this.mcu.setWatchdog(this.thermal.watchdog_s);
      await this.mcu.setPower(false);
      // the last look before power: a hold that came meanwhile has moved the state on
      if (!live()) return;
      await this.mcu.setPower(true);
      await new Promise((r) => setTimeout(r, 100));
      if (!live()) return;
      this.link.parser.reset();
      const e = await this.link.enumerate(this.config.chips, 0, 0);
      if (!live()) return;
      this.brokenAt = e.brokenAt;
      this.interval = e.interval;
      this.addresses = e.addresses;
      this.chipVersionMask = 0;
      const hashInfo = await this.link.read(e.addresses[0], REG.HASH_INFO);
      this.scaleShift = hashInfo & 0xff;
      this.hashesPerClock = (hashInfo >>> 16) / 2 ** this.scaleShift;
      this.chips = e.addresses.map((addr, i) => newChipStats(i, addr));
      // a board throttled before it was cut off or re-initialised comes back at the throttled frequency
      this.plan.resize(e.addresses.length);
      this.chipMHz = e.addresses.map(() => RATINGS.freqMinMHz);
      await this.applyFrequencies();
      if (!live()) return;
      this.ticket = -1;
      this.updateTicket(this.pools.pickJob()?.difficulty);
      if (this.config.baud > 115200) {
        this.link.broadcastWrite(REG.BAUD, this.config.baud);
        await new Promise((r) => setTimeout(r, 10));
        await this.uart.setBaud(this.config.baud);
      }
      if (!live()) return;
      this.retries = 0;
      this.miningSinceMs = Date.now();
      this.meter.begin(this.miningSinceMs);
      this.queue.clear();
      this.recent.clear();
      this.log.info(
        {
          boardId: this.info.boardId,
          chips: e.found,
          expected: e.expected,
          brokenAt: e.brokenAt,
          freqMHz: this.freqMHz,
          voltageMv: mv,
          ticketZeros: this.ticket,
          idealHashrateHs: this.idealHashrateHs,
        },
        'board up',
      );
      this.sm.fire('up', e.brokenAt !== undefined ? `chain broken at chip ${e.brokenAt}` : 'all chips up');
      this.sm.timer(() => this.diagnostics(), DIAGNOSTICS_MS);
      this.dispatch();
    } catch (err) {
      if (!live()) return;
      this.counters.bringupFailures++;
      const msg = (err as Error).message;
      this.log.error({ err: msg }, 'board bring-up failed; retrying');
      this.sm.fire('fail', msg);
      const failedEpoch = this.sm.epoch;
      await this.powerOffAndClose();
      if (this.sm.live(failedEpoch)) this.scheduleRetry();
    }
  }

  // ---- work ------------------------------------------------------------------------------------------------------

  /** TICKET_ZEROS: a few nonces a second per chip, never a ticket harder than the pool's share difficulty. */
  private updateTicket(poolDifficulty: number | undefined): void {
    const meanMHz = this.chipMHz.length ? this.chipMHz.reduce((a, f) => a + f, 0) / this.chipMHz.length : 0;
    const chipRate = meanMHz * 1e6 * this.hashesPerClock;
    let z = ticketZeros(chipRate, this.nonceRate ?? this.noncesPerChipS);
    if (poolDifficulty !== undefined && poolDifficulty > 0) z = Math.min(z, Math.floor(32 + Math.log2(poolDifficulty)));
    z = Math.max(0, z);
    if (z === this.ticket) return;
    this.ticket = z;
    this.queue.ticketSet(z);
    this.link.broadcastWrite(REG.TICKET_ZEROS, z);
  }

  private onPoolJob(job: Job, why: 'notify' | 'switch'): void {
    if (this.state !== 'mining') return;
    if (why === 'notify' && job.cleanJobs) {
      this.queue.staleFor(job.poolId);
      this.dispatch();
    } else if (why === 'switch' || !this.currentJob || job.poolId === this.currentJob.poolId) {
      this.dispatch();
    }
  }

  /** Sends the next work to every chip of the board. */
  private dispatch(): void {
    clearTimeout(this.refreshTimer);
    if (this.state !== 'mining' || this.stopped) return;
    const job = this.pools.pickJob();
    if (job) {
      // After a pool switch the old pool's in-flight results still go to it while it lives (PoolManager.submit).
      if (job.versionMask !== this.chipVersionMask) {
        this.link.broadcastWrite(REG.VERSION_MASK, versionMaskRegister(job.versionMask));
        this.chipVersionMask = job.versionMask;
      }
      this.updateTicket(job.difficulty);
      const taken = this.queue.take(job, this.ticket);
      if (taken) {
        this.currentJob = job;
        const work = taken.slot.work;
        this.link.sendJob({
          jobId: taken.jobId,
          startNonce: 0,
          nbits: work.nbits,
          ntime: work.ntime,
          merkleRoot: work.merkleRoot,
          prevHash: work.prevHash,
          version: work.version,
        });
        this.counters.jobsSent++;
        this.queue.feed.sent(Date.now(), this.walkMsPerChip(job.versionMask));
        this.refreshMs = this.computeRefreshMs(job.versionMask);
      }
    }
    // a plain timer, cleared by every dispatch and by every state change away from mining (setHold, lose, bringUp)
    const epoch = this.sm.epoch;
    this.refreshTimer = setTimeout(() => {
      if (this.sm.live(epoch)) this.dispatch();
    }, this.refreshMs);
  }

  /** Each chip's time to walk one job at its real speed (HASH_INFO's cores at shift 0, its own frequency). */
  private walkMsPerChip(versionMask: number): number[] {
    const cores = this.hashesPerClock * 2 ** this.scaleShift;
    return this.chipMHz.map((f) => chipWalkMs(this.interval, versionMask, f, cores));
  }

  /** Half the time the fastest chip needs to walk its nonce range for every version it may roll, within bounds. */
  private computeRefreshMs(versionMask: number): number {
    const walks = this.walkMsPerChip(versionMask);
    // load balance and balance share work between pools per dispatch: dispatch often enough to follow quotas
    const cap =
      this.pools.strategy === 'load-balance' || this.pools.strategy === 'balance' ? SHARED_REFRESH_MS : MAX_REFRESH_MS;
    if (walks.length === 0) return cap;
    return refreshMsFor(Math.min(...walks), uartMsPerJob(this.config.baud), MIN_REFRESH_MS, cap);
  }

  /** How well the chips are fed: the daemon's predicted idle share, and what the UART and this host allow. */
  feedStatus(now = Date.now()) {
    const walks = this.walkMsPerChip(Math.max(0, this.chipVersionMask));
    const walkMs = walks.length ? Math.min(...walks) : Number.POSITIVE_INFINITY;
    const uartMs = uartMsPerJob(this.config.baud);
    return {
      idleShare: this.queue.feed.idleShare(now),
      walkMs,
      refreshMs: this.refreshMs,
      uartMsPerJob: uartMs,
      workGenMs: this.queue.workGenMs,
      reachableShare: reachableShare(walkMs, uartMs, this.queue.hostMsPerJob),
    };
  }

  /** The hot path: one nonce reply → verified → maybe a share. */
  private onNonce(r: NonceReply): void {
    const chipIndex = r.chip / this.interval;
    const chip = this.chips[chipIndex];
    if (!chip || !Number.isInteger(chipIndex)) {
      this.counters.hwErrors++;
      return;
    }
    chip.replies++;
    const slot = this.queue.lookup(r.jobId);
    if (!slot) {
      this.counters.unknownJobIds++;
      this.hwError(chip, 'unknown job id');
      return;
    }
    const rolled = (r.versionBits << 13) >>> 0;
    if ((rolled & ~slot.versionMask) !== 0) {
      this.hwError(chip, 'version bits outside the mask');
      return;
    }
    // the chip that found a nonce owns its top byte
    if (Math.floor((r.nonce >>> 24) / this.interval) !== chipIndex) {
      this.hwError(chip, 'nonce outside the chip range');
      return;
    }
    const key = nonceKey(r.nonce, r.versionBits);
    const recentKey = RecentNonces.key((r.jobId >> 3) & (SLOTS - 1), key);
    if (this.recent.has(recentKey) || slot.shares.has(key)) {
      this.counters.duplicates++;
      this.hwError(chip, 'repeated nonce');
      return;
    }
    const work = slot.work;
    const version = (work.version | rolled) >>> 0;
    const hash = this.hashOut;
    slot.hasher.hash(version, r.nonce, hash);
    const zeros = leadingZeroBits(hash);
    // the slot's ticket is the lowest the chips held while they hashed its work (not the ticket now: results found
    // under a lower one may arrive after a raise)
    if (zeros < slot.ticket) {
      this.hwError(chip, 'hash misses the ticket');
      return;
    }
    this.recent.add(recentKey);
    const now = Date.now();
    if (slot.stale) {
      this.counters.staleNonces++;
      chip.stale++;
      return;
    }
    // each verified nonce stands for 2^ticket hashes of the ticket it was found under: the ticket now when it meets
    // it, else the lower one it met (found before a raise); not the slot's lowest, which would count the chips'
    // results after a raise at the ticket of an earlier measuring second until the next work
    const foundUnder = zeros >= this.ticket ? this.ticket : slot.ticket;
    const hashes = ticketDifficulty(foundUnder) * 2 ** 32;
    chip.nonces++;
    chip.lastNonceMs = now;
    chip.meter.add(hashes, now);
    this.meter.add(hashes, now);
    this.pools.credit(work.job, hashes);
    if (!meetsTarget(hash, work.shareTargetLe)) return;
    slot.shares.add(key);
    const difficulty = difficultyOfHash(hash);
    this.counters.sharesFound++;
    if (difficulty > this.counters.bestShare) this.counters.bestShare = difficulty;
    this.pools.submit({
      poolId: work.job.poolId,
      jobId: work.job.jobId,
      extranonce2: work.extranonce2.toString('hex'),
      ntime: work.ntime,
      nonce: r.nonce,
      version,
      versionBits: slot.versionMask ? (version & slot.versionMask) >>> 0 : undefined,
      difficulty,
      targetDifficulty: work.job.difficulty,
      foundAtMs: now,
      board: this.index,
      lineage: work.job.lineage,
    });
  }

  private hwError(chip: ChipStats, why: string): void {
    this.counters.hwErrors++;
    chip.hwErrors++;
    if (chip.hwErrors <= 3 || chip.hwErrors % 1000 === 0) {
      this.log.debug({ chip: chip.index, addr: chip.address, why, total: chip.hwErrors }, 'hardware error');
    }
  }

  // ---- diagnostics, off the safety path -------------------------------------------------------------------------

  /** Every 15 s while mining: silent chips, and replies lost on the link. A timer of the mining state. */
  private diagnostics(): void {
    this.sm.timer(() => this.diagnostics(), DIAGNOSTICS_MS);
    this.checkChips();
    void this.pollNonceCounts().catch((err) =>
      this.log.debug({ err: (err as Error).message }, 'nonce count poll failed'),
    );
  }

  /** Chips silent too long are flagged; a board whose chips all went silent is brought up again. */
  private checkChips(): void {
    const now = Date.now();
    const chipRate = this.freqMHz * 1e6 * this.hashesPerClock;
    const expectedPerS = chipRate / 2 ** this.ticket;
    const silentAfterMs = Math.max(30_000, (30 / Math.max(expectedPerS, 1e-9)) * 1000);
    if (now - this.miningSinceMs < silentAfterMs) return;
    let silent = 0;
    for (const c of this.chips) {
      const quiet = now - (c.lastNonceMs || this.miningSinceMs) > silentAfterMs;
      if (quiet && !c.silent) this.log.warn({ chip: c.index, addr: c.address }, 'chip silent');
      if (!quiet && c.silent) this.log.info({ chip: c.index }, 'chip answers again');
      c.silent = quiet;
      if (quiet) silent++;
    }
    if (silent === this.chips.length && this.chips.length > 0) {
      this.log.error('every chip is silent; bringing the board up again');
      this.counters.reinits++;
      void this.bringUp('every chip silent');
    }
  }

  /**
   * NONCE_COUNT of every chip in one broadcast read (not chip by chip: a broken chain would hold the link for
   * seconds); the difference to what arrived is replies lost on the link.
   */
  private async pollNonceCounts(): Promise<void> {
    const epoch = this.sm.epoch;
    const counts = await this.link.readAll(REG.NONCE_COUNT, 150, 2000);
    if (!this.sm.live(epoch)) return;
    const byAddr = new Map(counts.map((c) => [c.chip, c.value]));
    for (const c of this.chips) {
      const count = byAddr.get(c.address);
      if (count === undefined) continue;
      if (c.nonceCountBase === undefined) {
        c.nonceCountBase = count;
        c.repliesBase = c.replies;
        continue;
      }
      const sent = (count - c.nonceCountBase) >>> 0;
      const got = c.replies - (c.repliesBase ?? 0);
      const lost = sent - got;
      if (lost > c.lost) {
        this.counters.noncesLost += lost - c.lost;
        c.lost = lost;
      }
    }
  }
}
