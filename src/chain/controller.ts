import { EventEmitter } from 'node:events';
import type { ChainConfig, Config } from '../config/schema.js';
import { ChainLink, type NonceReply, versionMaskRegister } from '../device/maijie-l7/chain-link.js';
import { type Eeprom, McuClient } from '../device/maijie-l7/mcu.js';
import { findPll, ticketDifficulty, ticketZeros } from '../device/maijie-l7/pll.js';
import { RATINGS } from '../device/maijie-l7/ratings.js';
import { FAULT_BITS, REG } from '../device/maijie-l7/registers.js';
import { openChainTransport, openMcuTransport } from '../device/transport/index.js';
import type { ByteTransport, McuTransport } from '../device/transport/types.js';
import { HashMeter } from '../monitor/meter.js';
import type { PoolManager } from '../pool/manager/manager.js';
import { sha256d } from '../pool/work/hash.js';
import { difficultyOfHash, leadingZeroBits, meetsTarget } from '../pool/work/target.js';
import { buildHeader, Extranonce2Counter, type Job, makeWork, versionSpace, type Work } from '../pool/work/work.js';
import type { Component } from '../util/lifecycle.js';
import type { Logger } from '../util/log.js';
import { type ChipStats, newChipStats } from './stats.js';

export type ChainState = 'init' | 'bringup' | 'mining' | 'cooling' | 'lost' | 'paused' | 'stopped';

const MAX_REFRESH_MS = 20_000;
const MIN_REFRESH_MS = 100;
const SHARED_REFRESH_MS = 500;
const SLOTS = 16;
/** Thermal throttling: steps of this share of the wanted frequency, never below this share of it. */
const THROTTLE_STEP = 0.05;
const THROTTLE_FLOOR = 0.5;
/** Chips this far below hot_c (at most half way to target_c) for throttle_hold_s let a board step back up. */
const THROTTLE_HYSTERESIS_C = 5;

interface Slot {
  work: Work;
  /** the job was replaced by clean_jobs or a pool switch: results are stale, not hardware errors */
  stale: boolean;
  seen: Set<number>;
  versionMask: number;
  /** TICKET_ZEROS in force when the work was sent */
  ticket: number;
}

export interface BoardInfo {
  boardId: string;
  fwVersion: number;
  eeprom: Eeprom | undefined;
}

export interface BoardReadings {
  tempsC: number[];
  inletC: number;
  outletC: number;
  maxChipC: number;
  voltageMv: number;
  powerW: number;
  faults: number;
  atMs: number;
}

/**
 * One hash board: brings it up, keeps every chip fed, verifies every nonce, turns results into shares and keeps the
 * board inside its limits. Owns the board's statistics. Events: 'state' (state, reason).
 */
export class ChainController extends EventEmitter implements Component {
  readonly name: string;
  state: ChainState = 'init';
  stateReason = '';
  readonly meter = new HashMeter();
  chips: ChipStats[] = [];
  info: BoardInfo = { boardId: '', fwVersion: 0, eeprom: undefined };
  readings: BoardReadings = {
    tempsC: [],
    inletC: Number.NaN,
    outletC: Number.NaN,
    maxChipC: Number.NaN,
    voltageMv: 0,
    powerW: 0,
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
  freqMHz = 0;
  /** The frequency asked for (config, or an operator's ascset); thermal throttling keeps the chips at or below it. */
  wantMHz: number;
  /** The ceiling thermal throttling has set, kept across a re-init (undefined: not throttled). */
  throttleMHz: number | undefined;
  voltageMv = 0;
  hashesPerClock = 0;
  ticket = 0;
  interval = 1;
  addresses: number[] = [];
  brokenAt: number | undefined;
  refreshMs = MAX_REFRESH_MS;

  private uart: ByteTransport;
  private mcuT: McuTransport;
  private link: ChainLink;
  private mcu: McuClient;
  private readonly slots: (Slot | undefined)[] = Array.from({ length: SLOTS }, () => undefined);
  private nextSlot = 0;
  private readonly en2 = new WeakMap<Job, Extranonce2Counter>();
  private currentJob: Job | undefined;
  private chipVersionMask = -1;
  private refreshTimer: NodeJS.Timeout | undefined;
  private monitorTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retries = 0;
  private mcuFailures = 0;
  private stopped = false;
  private monitorBusy = false;
  private lastNonceCountPoll = 0;
  private miningSinceMs = 0;
  private freqBusy = false;
  private lastThrottleMs = 0;
  private coolSinceMs = 0;
  private tempAtThrottleC = Number.NaN;
  private readonly log: Logger;
  private thermal: Config['thermal'];

  constructor(
    readonly index: number,
    readonly config: ChainConfig,
    private readonly chainsTotal: number,
    thermal: Config['thermal'],
    private readonly pools: PoolManager,
    log: Logger,
    /** Nonces a chip should report per second: enough to measure it, few enough to keep the link idle. */
    private readonly noncesPerChipS = 4,
  ) {
    super();
    this.name = `chain${index}`;
    this.thermal = thermal;
    this.wantMHz = findPll(config.frequency_mhz).freqMHz;
    this.log = log.child({ component: this.name });
    this.uart = openChainTransport(config.uart);
    this.mcuT = openMcuTransport(config.spi);
    this.link = new ChainLink(this.uart, this.log);
    this.mcu = new McuClient(this.mcuT, this.log);
    this.link.onNonce = (r) => this.onNonce(r);
    this.uart.on('lost', (reason: string) => this.lose(`chain link lost: ${reason}`));
    this.mcuT.on('lost', (reason: string) => this.lose(`board MCU lost: ${reason}`));
    pools.onJob((job, why) => this.onPoolJob(job, why));
  }

  get linkCounters() {
    return this.link.counters;
  }

  get mcuCounters() {
    return this.mcu.counters;
  }

  /** Hashes per second the chips should make at their frequency. */
  get idealHashrateHs(): number {
    return this.addresses.length * this.freqMHz * 1e6 * this.hashesPerClock;
  }

  private setState(s: ChainState, reason: string): void {
    if (this.state === s && this.stateReason === reason) return;
    this.state = s;
    this.stateReason = reason;
    this.log.info({ state: s, reason }, `board ${s}`);
    this.emit('state', s, reason);
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.monitorTimer = setInterval(() => void this.monitor(), 1000);
    // bring-up runs in the background: a board that is missing must not hold the daemon's start
    void this.bringUp();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.monitorTimer);
    clearTimeout(this.refreshTimer);
    clearTimeout(this.retryTimer);
    // Safety: leave the board powered off
    if (this.mcuT.isOpen) {
      try {
        await this.mcu.setPower(false);
        this.log.info('board powered off');
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'could not power the board off; its MCU watchdog will');
      }
    }
    await this.uart.close();
    await this.mcuT.close();
    this.setState('stopped', 'daemon stopping');
  }

  /** Curtailment: chips idle and the board powered off, until resume(). */
  async pause(): Promise<void> {
    clearTimeout(this.refreshTimer);
    this.setState('paused', 'paused by operator');
    if (this.mcuT.isOpen) await this.mcu.setPower(false);
  }

  async resume(): Promise<void> {
    if (this.state !== 'paused') return;
    void this.bringUp();
  }

  private safetyHold: string | undefined;

  /** Powers the board off for a reason outside the board (no airflow); it stays off until safetyClear(). */
  async safetyOff(reason: string): Promise<void> {
    this.safetyHold = reason;
    clearTimeout(this.refreshTimer);
    clearTimeout(this.retryTimer);
    this.setState('cooling', reason);
    if (this.mcuT.isOpen) await this.mcu.setPower(false);
  }

  safetyClear(): void {
    this.safetyHold = undefined;
  }

  /** Ramps every chip to a new frequency (cgminer ascset freq; the tuner later). */
  async setFrequency(freqMHz: number): Promise<void> {
    if (this.state !== 'mining') throw new Error(`board ${this.index} is ${this.state}`);
    this.wantMHz = freqMHz;
    await this.retune(this.ceilingMHz);
  }

  /** The frequency the board should run at: the wanted one, or the throttled ceiling below it. */
  private get ceilingMHz(): number {
    return Math.min(this.wantMHz, this.throttleMHz ?? this.wantMHz);
  }

  /** Ramps the chips to `freqMHz` (one ramp at a time) and sets the ticket for the new hash rate. */
  private async retune(freqMHz: number): Promise<void> {
    if (this.freqBusy) throw new Error(`board ${this.index} is changing frequency`);
    this.freqBusy = true;
    try {
      this.freqMHz = await this.link.rampFrequency(this.addresses, this.freqMHz, freqMHz);
      this.ticket = -1;
      this.updateTicket(this.currentJob?.difficulty);
    } finally {
      this.freqBusy = false;
    }
  }

  /**
   * Thermal throttling, once a second while mining: chips at hot_c or above step the frequency down by 5 % of the
   * wanted one (not below half of it) every sixth of throttle_hold_s unless the last step already has them cooling;
   * chips 5 °C under hot_c (or half way to target_c) for throttle_hold_s step it back up. The dangerous cut-off
   * stays the last word. Throttling switched off (reload) gives the board its wanted frequency back.
   */
  private throttle(): void {
    const t = this.readings.maxChipC;
    if (this.freqBusy) return;
    if (!this.thermal.throttle) {
      if (this.throttleMHz !== undefined) this.throttleTo(undefined);
      return;
    }
    if (!Number.isFinite(t)) return;
    const now = Date.now();
    const holdMs = this.thermal.throttle_hold_s * 1000;
    const step = Math.max(1, Math.round(this.wantMHz * THROTTLE_STEP));
    const floor = Math.max(RATINGS.freqMinMHz, Math.round(this.wantMHz * THROTTLE_FLOOR));
    // cool enough to step up: under hot_c by 5 °C, or by half the gap to target_c where that is narrower
    const hysteresis = Math.min(THROTTLE_HYSTERESIS_C, (this.thermal.hot_c - this.thermal.target_c) / 2);
    if (t < this.thermal.hot_c - hysteresis) this.coolSinceMs ||= now;
    else this.coolSinceMs = 0;
    let next: number;
    // the chips lag the clock: after a step, a further one only while they are not already cooling
    const cooling = t < this.tempAtThrottleC - 0.2 && now - this.lastThrottleMs < holdMs;
    if (t >= this.thermal.hot_c && this.freqMHz > floor && !cooling && now - this.lastThrottleMs >= holdMs / 6) {
      next = findPll(Math.max(floor, this.freqMHz - step)).freqMHz;
      this.log.warn(
        { maxChipC: t, fromMHz: this.freqMHz, toMHz: next },
        `chips at or above hot ${this.thermal.hot_c} °C: throttling`,
      );
    } else if (
      this.freqMHz < this.wantMHz &&
      this.coolSinceMs > 0 &&
      now - this.coolSinceMs >= holdMs &&
      now - this.lastThrottleMs >= holdMs
    ) {
      next = findPll(Math.min(this.wantMHz, this.freqMHz + step)).freqMHz;
      this.log.info({ maxChipC: t, fromMHz: this.freqMHz, toMHz: next }, 'chips cool again: stepping the frequency up');
    } else {
      return;
    }
    if (next === this.freqMHz) return;
    this.lastThrottleMs = now;
    this.tempAtThrottleC = t;
    this.counters.throttleSteps++;
    this.throttleTo(next >= this.wantMHz ? undefined : next);
  }

  /** Sets the throttle ceiling (undefined: none) and ramps the chips to it in the background. */
  private throttleTo(ceilingMHz: number | undefined): void {
    this.throttleMHz = ceilingMHz;
    this.retune(this.ceilingMHz).catch((err) =>
      this.log.warn({ err: (err as Error).message }, 'frequency change failed'),
    );
  }

  /** Brings the board up again from power-on (operator restart). */
  async restart(): Promise<void> {
    if (this.stopped) return;
    this.counters.reinits++;
    await this.bringUp();
  }

  async locate(on: boolean): Promise<void> {
    await this.mcu.setLed(on ? 2 : 0);
  }

  /** Thermal limits apply live (the watchdog at the next bring-up). */
  reload(next: Config, changed: string[]): string[] {
    this.thermal = next.thermal;
    return changed.filter((k) => k.startsWith('thermal.'));
  }

  private lose(reason: string): void {
    if (this.stopped || this.state === 'lost') return;
    clearTimeout(this.refreshTimer);
    this.setState('lost', reason);
    void this.powerOffAndClose().then(() => this.scheduleRetry());
  }

  /** Safety first: whatever was lost, try to power the board off through whichever link still works. */
  private async powerOffAndClose(): Promise<void> {
    if (this.mcuT.isOpen) {
      try {
        await this.mcu.setPower(false);
      } catch {
        // unreachable: its watchdog powers it off
      }
    }
    await this.uart.close();
    await this.mcuT.close();
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    const wait = Math.min(30_000, 1000 * 2 ** Math.min(this.retries, 5));
    this.retries++;
    this.retryTimer = setTimeout(() => void this.bringUp(), wait);
  }

  private async bringUp(): Promise<void> {
    if (this.stopped || this.safetyHold) return;
    clearTimeout(this.refreshTimer);
    this.setState('bringup', 'powering on and enumerating');
    try {
      await this.mcuT.open();
      await this.uart.open();
      const eeprom = await this.mcu.eeprom();
      this.info = { boardId: await this.mcu.boardId(), fwVersion: await this.mcu.fwVersion(), eeprom };
      const faults = await this.mcu.faults();
      if (faults & FAULT_BITS.OVER_TEMP) this.log.warn({ faults }, 'board reports an earlier over-temperature trip');
      await this.mcu.clearFaults();
      const mv = Math.min(eeprom.maxMv, Math.max(eeprom.minMv, this.config.voltage_mv));
      if (mv !== this.config.voltage_mv)
        this.log.warn({ wanted: this.config.voltage_mv, mv, eeprom }, 'voltage held inside the board EEPROM range');
      await this.mcu.setVoltage(mv);
      this.voltageMv = mv;
      await this.mcu.setWatchdog(this.thermal.watchdog_s);
      await this.mcu.setPower(false);
      await this.mcu.setPower(true);
      await new Promise((r) => setTimeout(r, 100));
      this.link.parser.reset();
      const e = await this.link.enumerate(this.config.chips, 0, 0);
      this.brokenAt = e.brokenAt;
      this.interval = e.interval;
      this.addresses = e.addresses;
      this.chipVersionMask = 0;
      const hashInfo = await this.link.read(e.addresses[0], REG.HASH_INFO);
      this.hashesPerClock = (hashInfo >>> 16) / 2 ** (hashInfo & 0xff);
      this.chips = e.addresses.map((addr, i) => newChipStats(i, addr));
      // a board throttled before it was cut off or re-initialised comes back at the throttled frequency
      const target = this.ceilingMHz;
      this.freqMHz = await this.link.rampFrequency(e.addresses, 50, target);
      this.ticket = -1;
      this.updateTicket(this.pools.pickJob()?.difficulty);
      if (this.config.baud > 115200) {
        this.link.broadcastWrite(REG.BAUD, this.config.baud);
        await new Promise((r) => setTimeout(r, 10));
        await this.uart.setBaud(this.config.baud);
      }
      this.retries = 0;
      this.mcuFailures = 0;
      this.miningSinceMs = Date.now();
      for (let i = 0; i < SLOTS; i++) this.slots[i] = undefined;
      this.log.info(
        {
          boardId: this.info.boardId,
          chips: e.found,
          expected: e.expected,
          brokenAt: e.brokenAt,
          freqMHz: target,
          voltageMv: mv,
          ticketZeros: this.ticket,
          idealHashrateHs: this.idealHashrateHs,
        },
        'board up',
      );
      this.setState('mining', e.brokenAt !== undefined ? `chain broken at chip ${e.brokenAt}` : 'all chips up');
      this.dispatch();
      void this.monitor();
    } catch (err) {
      this.counters.bringupFailures++;
      const msg = (err as Error).message;
      this.log.error({ err: msg }, 'board bring-up failed; retrying');
      if (!this.stopped) {
        this.state = 'lost';
        this.stateReason = msg;
        this.emit('state', 'lost', msg);
        await this.powerOffAndClose();
        this.scheduleRetry();
      }
    }
  }

  /** TICKET_ZEROS: a few nonces a second per chip, never a ticket harder than the pool's share difficulty. */
  private updateTicket(poolDifficulty: number | undefined): void {
    const chipRate = this.freqMHz * 1e6 * this.hashesPerClock;
    let z = ticketZeros(chipRate, this.noncesPerChipS);
    if (poolDifficulty !== undefined && poolDifficulty > 0) z = Math.min(z, Math.floor(32 + Math.log2(poolDifficulty)));
    z = Math.max(0, z);
    if (z === this.ticket) return;
    this.ticket = z;
    this.link.broadcastWrite(REG.TICKET_ZEROS, z);
    // refresh: before a chip could walk its whole range for every rolled version
  }

  private onPoolJob(job: Job, why: 'notify' | 'switch'): void {
    if (this.state !== 'mining') return;
    if (why === 'notify' && job.cleanJobs) {
      // a new block on that pool: what the chips still find for its older jobs is stale there
      for (const s of this.slots) if (s && s.work.job.poolId === job.poolId) s.stale = true;
      this.dispatch();
    } else if (why === 'switch' || !this.currentJob || job.poolId === this.currentJob.poolId) {
      this.dispatch();
    }
  }

  /** Sends the next work to every chip of the board. */
  private dispatch(): void {
    clearTimeout(this.refreshTimer);
    if (this.state !== 'mining') return;
    const job = this.pools.pickJob();
    if (job) {
      // After a pool switch the old pool's in-flight results still go to it while it lives (PoolManager.submit).
      // one counter per job, kept while the job lives: going back to a job never repeats its work
      let counter = this.en2.get(job);
      if (!counter) {
        counter = new Extranonce2Counter(job.extranonce2Size, this.index, this.chainsTotal);
        this.en2.set(job, counter);
      }
      const en2 = counter.take();
      if (en2) {
        this.currentJob = job;
        const work = makeWork(job, en2);
        if (job.versionMask !== this.chipVersionMask) {
          this.link.broadcastWrite(REG.VERSION_MASK, versionMaskRegister(job.versionMask));
          this.chipVersionMask = job.versionMask;
        }
        this.updateTicket(job.difficulty);
        const slotIndex = this.nextSlot;
        this.nextSlot = (this.nextSlot + 1) % SLOTS;
        this.slots[slotIndex] = {
          work,
          stale: false,
          seen: new Set(),
          versionMask: job.versionMask,
          ticket: this.ticket,
        };
        this.link.sendJob({
          jobId: slotIndex * 8,
          startNonce: 0,
          nbits: work.nbits,
          ntime: work.ntime,
          merkleRoot: work.merkleRoot,
          prevHash: work.prevHash,
          version: work.version,
        });
        this.counters.jobsSent++;
        this.refreshMs = this.computeRefreshMs(job.versionMask);
      }
    }
    this.refreshTimer = setTimeout(() => this.dispatch(), this.refreshMs);
  }

  /** Half the time a chip needs to walk its nonce range for every version it may roll, within bounds. */
  private computeRefreshMs(versionMask: number): number {
    const chipRate = this.freqMHz * 1e6 * this.hashesPerClock;
    if (!(chipRate > 0)) return MAX_REFRESH_MS;
    const space = this.interval * 2 ** 24 * versionSpace(versionMask);
    // load balance and balance share work between pools per dispatch: dispatch often enough to follow quotas
    const cap =
      this.pools.strategy === 'load-balance' || this.pools.strategy === 'balance' ? SHARED_REFRESH_MS : MAX_REFRESH_MS;
    return Math.max(MIN_REFRESH_MS, Math.min(cap, (space / chipRate) * 500));
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
    const slot = this.slots[r.jobId >> 3];
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
    const key = (r.nonce ^ Math.imul(r.versionBits, 0x9e3779b1)) >>> 0;
    if (slot.seen.has(key)) {
      this.counters.duplicates++;
      this.hwError(chip, 'repeated nonce');
      return;
    }
    const work = slot.work;
    const version = (work.version | rolled) >>> 0;
    const hash = sha256d(buildHeader(work, r.nonce, version));
    const zeros = leadingZeroBits(hash);
    if (zeros < Math.min(this.ticket, slot.ticket)) {
      this.hwError(chip, 'hash misses the ticket');
      return;
    }
    slot.seen.add(key);
    const now = Date.now();
    if (slot.stale) {
      this.counters.staleNonces++;
      chip.stale++;
      return;
    }
    // each verified nonce stands for 2^ticket hashes; a nonce under a lower ticket is counted at that ticket
    const hashes = ticketDifficulty(Math.min(this.ticket, slot.ticket)) * 2 ** 32;
    chip.nonces++;
    chip.lastNonceMs = now;
    chip.meter.add(hashes, now);
    this.meter.add(hashes, now);
    this.pools.credit(work.job.poolId, hashes);
    if (!meetsTarget(hash, work.shareTargetLe)) return;
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
    });
  }

  private hwError(chip: ChipStats, why: string): void {
    this.counters.hwErrors++;
    chip.hwErrors++;
    if (chip.hwErrors <= 3 || chip.hwErrors % 1000 === 0) {
      this.log.debug({ chip: chip.index, addr: chip.address, why, total: chip.hwErrors }, 'hardware error');
    }
  }

  /** Once a second: readings (which also feed the MCU watchdog), safety, silent chips, lost replies. */
  private async monitor(): Promise<void> {
    if (this.monitorBusy || this.stopped || !this.mcuT.isOpen) return;
    if (this.state === 'lost' || this.state === 'bringup') return;
    this.monitorBusy = true;
    try {
      const temps = await this.mcu.temps();
      const faults = await this.mcu.faults();
      this.readings = {
        tempsC: temps.chipsC,
        inletC: temps.inletC,
        outletC: temps.outletC,
        maxChipC: Math.max(...temps.chipsC, temps.outletC),
        voltageMv: await this.mcu.voltageMv(),
        powerW: await this.mcu.powerW(),
        faults,
        atMs: Date.now(),
      };
      this.mcuFailures = 0;
      this.safety();
      if (this.state === 'mining') {
        this.throttle();
        this.checkChips();
        if (Date.now() - this.lastNonceCountPoll > 15_000) await this.pollNonceCounts();
      }
    } catch (err) {
      this.mcuFailures++;
      this.log.warn({ err: (err as Error).message, failures: this.mcuFailures }, 'board MCU did not answer');
      if (this.mcuFailures >= 3) this.lose('board MCU stopped answering');
    } finally {
      this.monitorBusy = false;
    }
  }

  /** Over the dangerous temperature or after an MCU trip: power off, and stay off until cooled below hot. */
  private safety(): void {
    const r = this.readings;
    const tooHot = r.maxChipC >= this.thermal.dangerous_c;
    const tripped = (r.faults & FAULT_BITS.OVER_TEMP) !== 0;
    if (this.state === 'mining' && (tooHot || tripped)) {
      clearTimeout(this.refreshTimer);
      const why = tripped
        ? 'the board MCU tripped on over-temperature'
        : `chip at ${r.maxChipC.toFixed(1)} °C ≥ dangerous ${this.thermal.dangerous_c} °C`;
      this.log.error({ maxChipC: r.maxChipC, faults: r.faults }, `powering the board off: ${why}`);
      this.setState('cooling', why);
      void this.mcu.setPower(false).catch(() => {});
      return;
    }
    if (this.state === 'cooling' && !this.safetyHold && r.maxChipC < this.thermal.hot_c) {
      this.log.info({ maxChipC: r.maxChipC }, `cooled below ${this.thermal.hot_c} °C; restarting the board`);
      this.counters.reinits++;
      void this.bringUp();
    }
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
      void this.bringUp();
    }
  }

  /** NONCE_COUNT against what arrived: the difference is replies lost on the link. */
  private async pollNonceCounts(): Promise<void> {
    this.lastNonceCountPoll = Date.now();
    for (const c of this.chips) {
      let count: number;
      try {
        count = await this.link.read(c.address, REG.NONCE_COUNT);
      } catch {
        continue;
      }
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
