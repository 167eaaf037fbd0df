import { OP, responseFrame } from '../../device/maijie-l7/frames.js';
import { encodeMcuResponse, type McuFrame, McuFrameParser } from '../../device/maijie-l7/mcu-frames.js';
import { type Command, CommandParser } from '../../device/maijie-l7/parser.js';
import { decodePll } from '../../device/maijie-l7/pll.js';
import { FAULT_BITS, MCU_OP, MCU_REG, MCU_STATUS, REG } from '../../device/maijie-l7/registers.js';
import type { SimEndpoint } from './endpoints.js';
import { chipSpaceHashes, ExhaustionModel, type FeedChip } from './exhaustion.js';
import type { ChipWork, NonceOut } from './hasher-protocol.js';
import {
  approach,
  chipAnswers,
  chipPowerW,
  errorRate,
  gaussian,
  MODEL,
  maxStableMHz,
  rng,
  steadyChipTempC,
} from './physics.js';

interface Chip {
  baseMaxMHz: number;
  address: number;
  awaitingAddress: boolean;
  pll: number;
  freqMHz: number;
  ticketZeros: number;
  versionMaskReg: number;
  baud: number;
  errorCount: number;
  nonceCount: number;
  tempC: number;
  dead: boolean;
  /** idle accounting: since the first job */
  firstJobMs: number;
  idleMs: number;
  noncesSent: number;
}

export interface BoardFaults {
  brokenAt: number | undefined;
  noiseRate: number;
  supplySag: boolean;
  overTemp: boolean;
  /** the MCU link carries nothing: requests never arrive (the MCU itself runs on, watchdog and all) */
  mcuLost: boolean;
  /** POWER_EN writes answered busy: the board cannot be powered off (or on) through its MCU */
  powerStuck: boolean;
  /** the outlet PCB sensor reads this instead of the truth (undefined: the truth) */
  outletSensorC: number | undefined;
  /** the chips' replies reach the host this much later, in order (a long or busy link, full reply FIFOs), ms */
  replyDelayMs: number;
}

export interface BoardHooks {
  /** Thermal time constant of the chips and the board, s. */
  thermalTauS: number;
  /** Temperature of the air the fans draw in, °C. */
  inletC: () => number;
  /** Sends chip work to the hashing thread. */
  hasher: (
    m:
      | { t: 'job'; jobId: number; header: Uint8Array; versionMaskBits: number }
      | { t: 'chips'; chips: ChipWork[] }
      | { t: 'clear' },
  ) => void;
  /** Current airflow share 0…1 from the fans. */
  airflow: () => number;
  /** Observers for benchmarks: a job frame arrived; nonce replies were written. */
  onJob?: (jobId: number) => void;
  onNoncesSent?: (nonces: number[]) => void;
  /** Model job exhaustion at the real-equivalent rate (exhaustion.ts): exhausted chips return no nonces. */
  exhaustion?: boolean;
}

const POWER_ON_BOOT_MS = 50;

/** What a chip holds after power-on: no address, registers at their reset values. */
const CHIP_RESET = {
  address: 0,
  awaitingAddress: false,
  pll: 0,
  freqMHz: 50,
  ticketZeros: 0,
  versionMaskReg: 0,
  baud: 115200,
} as const;

/** One simulated hash board: its chain of chips on a UART endpoint and its MCU on another. */
export class SimBoard {
  readonly chips: Chip[];
  readonly faults: BoardFaults = {
    brokenAt: undefined,
    noiseRate: 0,
    supplySag: false,
    overTemp: false,
    mcuLost: false,
    powerStuck: false,
    outletSensorC: undefined,
    replyDelayMs: 0,
  };
  power = false;
  plugged = true;
  voltageSetMv: number = MODEL.factoryMv;
  watchdogS = 0;
  faultBits = 0;
  led = 0;
  inletPcbC: number = MODEL.inletC;
  outletPcbC: number = MODEL.inletC;
  boardPowerW = 0;
  hashes = 0;
  private bootUntilMs = 0;
  private lastRequestMs = Date.now();
  private hasJob = false;
  private readonly cmdParser: CommandParser;
  private readonly mcuParser: McuFrameParser;
  private readonly rand: () => number;
  /** job exhaustion at real speed, when the simulator models it */
  readonly feed: ExhaustionModel | undefined;

  constructor(
    readonly index: number,
    nChips: number,
    seed: number,
    readonly scaleShift: number,
    readonly uart: SimEndpoint,
    readonly mcu: SimEndpoint,
    private readonly hooks: BoardHooks,
  ) {
    const r = rng(seed * 1000 + index);
    this.rand = rng(seed * 7777 + index);
    this.chips = Array.from({ length: nChips }, () => ({
      baseMaxMHz: MODEL.baseMaxMHzMean + MODEL.baseMaxMHzSd * gaussian(r),
      ...CHIP_RESET,
      errorCount: 0,
      nonceCount: 0,
      tempC: MODEL.inletC,
      dead: false,
      firstJobMs: 0,
      idleMs: 0,
      noncesSent: 0,
    }));
    this.feed = hooks.exhaustion ? new ExhaustionModel(nChips) : undefined;
    this.cmdParser = new CommandParser((c) => this.onCommand(c));
    this.mcuParser = new McuFrameParser(
      0xa5,
      (f) => this.onMcu(f),
      (reg) => this.mcuReply(MCU_STATUS.BAD_CRC, reg),
    );
    uart.on('data', (d: Buffer) => {
      if (!this.plugged) return;
      const before = this.cmdParser.counters.crcErrors;
      this.cmdParser.push(this.noise(d));
      const dropped = this.cmdParser.counters.crcErrors - before;
      if (dropped > 0) for (const c of this.reachable()) c.errorCount += dropped;
    });
    mcu.on('data', (d: Buffer) => {
      if (this.plugged && !this.faults.mcuLost) this.mcuParser.push(d);
    });
  }

  /** Chips the host can reach: all of them, or those before the break. */
  private reachable(): Chip[] {
    if (!this.power || Date.now() < this.bootUntilMs) return [];
    return this.faults.brokenAt === undefined ? this.chips : this.chips.slice(0, this.faults.brokenAt);
  }

  private noise(b: Buffer): Buffer {
    const rate = this.faults.noiseRate;
    if (rate <= 0) return b;
    const out = Buffer.from(b);
    for (let i = 0; i < out.length; i++) if (this.rand() < rate) out[i] ^= 1 << Math.floor(this.rand() * 8);
    return out;
  }

  /** replies held back by the reply-delay fault, each with when it reaches the host */
  private delayed: { atMs: number; b: Buffer }[] = [];
  private delayTimer: NodeJS.Timeout | undefined;

  private send(frames: Buffer[]): void {
    if (!frames.length || !this.plugged) return;
    const b = this.noise(Buffer.concat(frames));
    if (this.faults.replyDelayMs <= 0 && this.delayed.length === 0) {
      this.uart.write(b);
      return;
    }
    // in order: nothing overtakes what is still held (a delay shortened or lifted meanwhile included)
    const last = this.delayed[this.delayed.length - 1]?.atMs ?? 0;
    this.delayed.push({ atMs: Math.max(last, Date.now() + this.faults.replyDelayMs), b });
    this.releaseDelayed();
  }

  private releaseDelayed(): void {
    const next = this.delayed[0];
    if (this.delayTimer || !next) return;
    this.delayTimer = setTimeout(
      () => {
        this.delayTimer = undefined;
        const now = Date.now();
        while (this.delayed.length && this.delayed[0].atMs <= now) {
          const d = this.delayed.shift();
          if (d && this.plugged) this.uart.write(d.b);
        }
        this.releaseDelayed();
      },
      Math.max(0, next.atMs - Date.now()),
    );
    this.delayTimer.unref();
  }

  get effectiveVoltageMv(): number {
    return this.faults.supplySag ? this.voltageSetMv * MODEL.sagFactor : this.voltageSetMv;
  }

  limitMHz(c: Chip): number {
    return maxStableMHz(c.baseMaxMHz, this.effectiveVoltageMv, c.tempC);
  }

  // ---- chain link -------------------------------------------------------------------------------------------

  private onCommand(c: Command): void {
    // walk the chips' jobs up to now at the rates that held so far, before this command changes any
    this.feed?.advance(Date.now(), this.realRates());
    const chips = this.reachable();
    if (chips.length === 0) return;
    if (c.kind === 'job') {
      this.onJob(c.frame);
      return;
    }
    const p = c.payload;
    const replies: Buffer[] = [];
    const targets = (addr: number) => (c.broadcast ? chips : chips.filter((x) => x.address === addr));
    switch (c.op) {
      case OP.READ_REG:
        for (const chip of targets(p[0])) {
          if (!this.answers(chip)) continue;
          const v = this.readReg(chip, p[1]);
          if (v !== undefined)
            replies.push(responseFrame({ kind: 'register', value: v, chip: chip.address, reg: p[1] }));
        }
        break;
      case OP.WRITE_REG:
        if (p.length >= 6) for (const chip of targets(p[0])) this.writeReg(chip, p[1], p.readUInt32BE(2));
        break;
      case OP.CHAIN_INACTIVE:
        for (const chip of chips) chip.awaitingAddress = true;
        break;
      case OP.SET_ADDRESS: {
        const chip = chips.find((x) => x.awaitingAddress);
        if (chip) {
          chip.address = p[0];
          chip.awaitingAddress = false;
        }
        break;
      }
    }
    this.send(replies);
  }

  private answers(c: Chip): boolean {
    return chipAnswers(c.freqMHz, this.limitMHz(c));
  }

  private readReg(c: Chip, reg: number): number | undefined {
    switch (reg) {
      case REG.CHIP_ID:
        return 0x4c370001;
      case REG.HASH_INFO:
        return ((MODEL.cores << 16) | (this.scaleShift & 0xff)) >>> 0;
      case REG.PLL0:
        return c.pll;
      case REG.TICKET_ZEROS:
        return c.ticketZeros;
      case REG.BAUD:
        return c.baud;
      case REG.ERROR_COUNT:
        return c.errorCount >>> 0;
      case REG.NONCE_COUNT:
        return c.nonceCount >>> 0;
      case REG.VERSION_MASK:
        return c.versionMaskReg;
      default:
        return undefined;
    }
  }

  private writeReg(c: Chip, reg: number, v: number): void {
    switch (reg) {
      case REG.PLL0: {
        const pll = decodePll(v);
        if (pll) {
          c.pll = v;
          c.freqMHz = pll.freqMHz;
        }
        break;
      }
      case REG.TICKET_ZEROS:
        if (v <= 64) c.ticketZeros = v;
        break;
      case REG.VERSION_MASK:
        c.versionMaskReg = v;
        break;
      case REG.BAUD:
        if (v >= 115200 && v <= 3000000) c.baud = v;
        break;
    }
    this.pushChips();
  }

  /** Frames the chips received with a good CRC but impossible fields (a job id not a multiple of 8). */
  badFrames = 0;

  private onJob(f: Buffer): void {
    if ((f[4] & 0x07) !== 0) {
      this.badFrames++;
      return;
    }
    const header = Buffer.alloc(80);
    header.writeUInt32LE(f.readUInt32LE(82), 0);
    // chip order → header order: words reversed back
    for (let w = 0; w < 8; w++) {
      f.copy(header, 4 + w * 4, 50 + (7 - w) * 4, 54 + (7 - w) * 4);
      f.copy(header, 36 + w * 4, 18 + (7 - w) * 4, 22 + (7 - w) * 4);
    }
    header.writeUInt32LE(f.readUInt32LE(14), 68);
    header.writeUInt32LE(f.readUInt32LE(10), 72);
    const now = Date.now();
    for (const c of this.reachable()) if (c.firstJobMs === 0) c.firstJobMs = now;
    this.hasJob = true;
    const maskReg = this.chips[0]?.versionMaskReg ?? 0;
    const versionMaskBits = maskReg >>> 16 === 0x9000 ? maskReg & 0xffff : 0;
    if (this.feed) {
      const reach = this.reachable();
      const interval = Math.max(1, Math.floor(256 / Math.max(1, reach.length)));
      const idx = reach.map((c) => this.chips.indexOf(c));
      this.feed.job(now, this.realRates(), idx, chipSpaceHashes(interval, versionMaskBits));
    }
    this.hooks.hasher({ t: 'job', jobId: f[4] & 0xf8, header, versionMaskBits });
    this.hooks.onJob?.(f[4] & 0xf8);
  }

  /** Nonces from the hashing thread become reply frames (a chip sends only while it answers at all). */
  deliver(list: NonceOut[], hashes: number): void {
    this.hashes += hashes;
    if (!this.power || !this.plugged) return;
    const frames: Buffer[] = [];
    const sent: number[] = [];
    const byAddr = new Map(this.reachable().map((c) => [c.address, c]));
    const feed = this.feed;
    const exhausted = new Set<Chip>();
    if (feed) {
      feed.advance(Date.now(), this.realRates());
      this.chips.forEach((c, i) => {
        if (feed.exhausted(i)) exhausted.add(c);
      });
    }
    for (const n of list) {
      const c = byAddr.get(n.addr);
      if (!c || c.dead || !this.answers(c) || exhausted.has(c)) continue;
      sent.push(n.nonce);
      c.nonceCount = (c.nonceCount + 1) >>> 0;
      c.noncesSent++;
      frames.push(
        responseFrame({
          kind: 'nonce',
          nonce: n.nonce,
          chip: n.addr,
          jobId: n.jobId,
          core: n.core,
          versionBits: n.versionBits,
        }),
      );
    }
    this.send(frames);
    if (this.hooks.onNoncesSent && sent.length) this.hooks.onNoncesSent(sent);
  }

  /** What the hashing thread should do for each chip now. */
  chipWork(): ChipWork[] {
    const reach = new Set(this.reachable());
    const interval = Math.max(1, Math.floor(256 / Math.max(1, reach.size)));
    return this.chips.map((c) => {
      const limit = this.limitMHz(c);
      return {
        addr: c.address,
        interval,
        rateHs: (c.freqMHz * 1e6 * MODEL.cores) / 2 ** this.scaleShift,
        zeros: c.ticketZeros,
        errRate: errorRate(c.freqMHz, limit),
        hashing: reach.has(c) && !c.dead && !c.awaitingAddress && chipAnswers(c.freqMHz, limit),
      };
    });
  }

  /** Each chip's real-equivalent rate (HASH_INFO's cores at shift 0, its own frequency); 0 where it does not hash. */
  private realRates(): FeedChip[] {
    return this.chipWork().map((w, i) => ({ rateHs: w.hashing ? this.chips[i].freqMHz * 1e6 * MODEL.cores : 0 }));
  }

  private chipsPushQueued = false;

  /**
   * Sends the chips' work to the hashing thread, at most once per turn of the event loop: bring-up writes registers
   * of every chip over and over (a frequency ramp is chips × steps writes), and one message per write queued seconds
   * of stale updates ahead of the first job.
   */
  pushChips(): void {
    if (this.chipsPushQueued) return;
    this.chipsPushQueued = true;
    setImmediate(() => {
      this.chipsPushQueued = false;
      this.hooks.hasher({ t: 'chips', chips: this.chipWork() });
    });
  }

  // ---- board MCU --------------------------------------------------------------------------------------------

  private mcuReply(status: number, reg: number, data?: Buffer): void {
    if (this.plugged) this.mcu.write(encodeMcuResponse(status, reg, data));
  }

  private onMcu(f: McuFrame): void {
    this.lastRequestMs = Date.now();
    const { code: op, reg, data } = f;
    const ok = (d?: Buffer) => this.mcuReply(MCU_STATUS.OK, reg, d);
    const range = () => this.mcuReply(MCU_STATUS.OUT_OF_RANGE, reg);
    const u16 = (v: number) => {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(Math.max(0, Math.min(0xffff, Math.round(v))));
      return b;
    };
    if (op === MCU_OP.READ) {
      switch (reg) {
        case MCU_REG.BOARD_ID:
          return ok(
            Buffer.from(
              `L7SIM-${String(this.index).padStart(2, '0')}-${'000000'}`.padEnd(16, ' ').slice(0, 16),
              'ascii',
            ),
          );
        case MCU_REG.FW_VERSION:
          return ok(u16(0x0102));
        case MCU_REG.EEPROM: {
          const b = Buffer.alloc(10);
          b[0] = this.chips.length;
          b[1] = 2;
          b.writeUInt16BE(MODEL.factoryMv, 2);
          b.writeUInt16BE(MODEL.factoryMHz, 4);
          b.writeUInt16BE(MODEL.boardMinMv, 6);
          b.writeUInt16BE(MODEL.boardMaxMv, 8);
          return ok(b);
        }
        case MCU_REG.POWER_EN:
          return ok(Buffer.from([this.power ? 1 : 0]));
        case MCU_REG.VOLTAGE_SET:
          return ok(u16(this.voltageSetMv));
        case MCU_REG.VOLTAGE_READ:
          return ok(u16(this.power ? this.effectiveVoltageMv : 0));
        case MCU_REG.POWER_W: {
          const b = Buffer.alloc(4);
          b.writeFloatBE(this.boardPowerW / 2 ** this.scaleShift);
          return ok(b);
        }
        case MCU_REG.TEMPS: {
          const dies = this.sensorChips().map((c) => c.tempC);
          const all = [this.inletPcbC, this.faults.outletSensorC ?? this.outletPcbC, ...dies];
          const b = Buffer.alloc(1 + 2 * all.length);
          b[0] = all.length;
          all.forEach((t, i) => {
            b.writeInt16BE(Math.round(t * 100), 1 + 2 * i);
          });
          return ok(b);
        }
        case MCU_REG.WATCHDOG:
          return ok(u16(this.watchdogS));
        case MCU_REG.FAULTS:
          return ok(Buffer.from([this.faultBits]));
        case MCU_REG.LED:
          return ok(Buffer.from([this.led]));
        default:
          return this.mcuReply(MCU_STATUS.UNKNOWN_REG, reg);
      }
    }
    if (op !== MCU_OP.WRITE) return this.mcuReply(MCU_STATUS.UNKNOWN_REG, reg);
    switch (reg) {
      case MCU_REG.POWER_EN:
        if (data.length !== 1 || data[0] > 1) return range();
        if (this.faults.powerStuck) return this.mcuReply(MCU_STATUS.BUSY, reg);
        this.setPower(data[0] === 1);
        return ok();
      case MCU_REG.VOLTAGE_SET: {
        if (data.length !== 2) return range();
        const mv = data.readUInt16BE(0);
        if (mv < MODEL.boardMinMv || mv > MODEL.boardMaxMv) return range();
        this.voltageSetMv = mv;
        this.pushChips();
        return ok();
      }
      case MCU_REG.WATCHDOG:
        if (data.length !== 2) return range();
        this.watchdogS = data.readUInt16BE(0);
        return ok();
      case MCU_REG.FAULTS:
        if (data.length !== 1 || data[0] !== 0) return range();
        this.faultBits = 0;
        return ok();
      case MCU_REG.LED:
        if (data.length !== 1 || data[0] > 2) return range();
        this.led = data[0];
        return ok();
      default:
        return this.mcuReply(MCU_STATUS.UNKNOWN_REG, reg);
    }
  }

  /** The die sensors the MCU reports: four chips spread along the chain. */
  sensorChips(): Chip[] {
    const n = this.chips.length;
    const idx = [...new Set([0, Math.floor(n / 3), Math.floor((2 * n) / 3), n - 1])];
    return idx.map((i) => this.chips[i]);
  }

  setPower(on: boolean): void {
    if (on && !this.power) {
      // power-on resets every chip: addresses and registers lost
      for (const c of this.chips) Object.assign(c, CHIP_RESET);
      this.bootUntilMs = Date.now() + POWER_ON_BOOT_MS;
    }
    this.power = on;
    if (!on) {
      this.hasJob = false;
      if (this.feed) {
        this.feed.advance(Date.now(), this.realRates());
        this.feed.clear(Date.now());
      }
      this.hooks.hasher({ t: 'clear' });
    }
    this.pushChips();
  }

  // ---- physics ----------------------------------------------------------------------------------------------

  /** Advances temperatures, power, watchdog and trips by `dtS` seconds. */
  step(dtS: number): void {
    const now = Date.now();
    if (this.power && this.watchdogS > 0 && now - this.lastRequestMs > this.watchdogS * 1000) {
      this.trip(FAULT_BITS.WATCHDOG);
    }
    const air = this.hooks.airflow();
    const v = this.effectiveVoltageMv;
    const n = this.chips.length;
    const chipW = this.chips.map((c) => (this.power ? chipPowerW(c.freqMHz, v, c.tempC) : 0));
    this.boardPowerW = chipW.reduce((a, b) => a + b, 0);
    // over-temperature (a heatsink come loose): the chips heat far more for the power they burn; unpowered, they cool
    const extra = this.faults.overTemp && this.power ? 60 : 0;
    const inlet = this.hooks.inletC();
    this.chips.forEach((c, i) => {
      const target = steadyChipTempC(i, n, this.boardPowerW, chipW[i], air, inlet) + extra;
      c.tempC = approach(c.tempC, target, dtS, this.faults.overTemp ? 2 : this.hooks.thermalTauS);
      if (c.firstJobMs > 0 && !(this.power && this.hasJob)) c.idleMs += dtS * 1000;
    });
    const rise = (this.boardPowerW * MODEL.boardRth) / (0.15 + air);
    this.inletPcbC = approach(this.inletPcbC, inlet + 0.3 * rise + extra / 2, dtS, this.hooks.thermalTauS);
    this.outletPcbC = approach(this.outletPcbC, inlet + 0.8 * rise + extra / 2, dtS, this.hooks.thermalTauS);
    if (this.power && this.sensorChips().some((c) => c.tempC >= 105)) {
      this.trip(FAULT_BITS.OVER_TEMP);
    }
    if (this.faults.supplySag) this.faultBits |= FAULT_BITS.SUPPLY;
    if (this.power) this.pushChips();
  }

  /** The MCU cuts power on its own for `bit` (over-current, a watchdog trip on demand). */
  trip(bit: number): void {
    if (this.power) this.countTrip(bit);
    this.faultBits |= bit;
    this.setPower(false);
  }

  /** Times the MCU cut power by itself, per cause: the oracle's record (FAULTS can be cleared by the host). */
  readonly trips = { overTemp: 0, overCurrent: 0, watchdog: 0 };

  private countTrip(bit: number): void {
    if (bit & FAULT_BITS.OVER_TEMP) this.trips.overTemp++;
    if (bit & FAULT_BITS.OVER_CURRENT) this.trips.overCurrent++;
    if (bit & FAULT_BITS.WATCHDOG) this.trips.watchdog++;
  }

  /** Unplugged: links gone, board dark. Replugged: links back, board powered off as after insertion. */
  async unplug(): Promise<void> {
    this.plugged = false;
    this.delayed = [];
    this.setPower(false);
    await Promise.all([this.uart.unplug(), this.mcu.unplug()]);
  }

  async replug(): Promise<void> {
    await Promise.all([this.uart.replug(), this.mcu.replug()]);
    this.plugged = true;
  }

  oracle() {
    const feed = this.feed?.report(Date.now(), this.realRates());
    return {
      exhaustion: feed ? { share: feed.exhaustedShare, idleMs: feed.exhaustedIdleMs, fedMs: feed.fedMs } : null,
      board: this.index,
      power: this.power,
      plugged: this.plugged,
      voltageMv: this.effectiveVoltageMv,
      powerW: this.boardPowerW,
      faultBits: this.faultBits,
      faults: this.faults,
      trips: { ...this.trips },
      maxChipC: Math.max(...this.chips.map((c) => c.tempC)),
      hashes: this.hashes,
      badFrames: this.badFrames,
      chips: this.chips.map((c, i) => ({
        index: i,
        address: c.address,
        freqMHz: c.freqMHz,
        maxStableMHz: this.limitMHz(c),
        baseMaxMHz: c.baseMaxMHz,
        tempC: c.tempC,
        dead: c.dead,
        noncesSent: c.noncesSent,
        nonceCount: c.nonceCount,
        errorCount: c.errorCount,
        idleMs: c.idleMs,
        idleFraction: c.firstJobMs > 0 ? c.idleMs / Math.max(1, Date.now() - c.firstJobMs) : 0,
        exhaustedIdleMs: feed?.chips[i].exhaustedIdleMs ?? 0,
        exhaustedShare: feed?.chips[i].exhaustedShare ?? 0,
        exhausted: feed?.chips[i].exhausted ?? false,
      })),
    };
  }
}
