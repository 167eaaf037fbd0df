import type { Logger } from '../../util/log.js';
import type { ByteTransport } from '../transport/types.js';
import {
  chainInactive,
  type JobFields,
  jobFrame,
  type Response,
  readRegister,
  setAddress,
  writeRegister,
} from './frames.js';
import { ResponseParser } from './parser.js';
import { encodePll, findPll, rampSteps } from './pll.js';
import { CHIP_ID_MAGIC, KNOWN_CHIP_REGS, REG } from './registers.js';

export interface NonceReply {
  nonce: number;
  chip: number;
  jobId: number;
  core: number;
  versionBits: number;
}

export interface LinkCounters {
  crcErrors: number;
  garbageBytes: number;
  frames: number;
  nonceReplies: number;
  registerReplies: number;
  /** Frames with a good CRC but impossible fields (unknown register, chip address beyond the chain). */
  impossibleFrames: number;
  readTimeouts: number;
  /** Broadcast-read replies that arrived after the read finished. */
  lateReplies: number;
}

export interface Enumeration {
  /** Chips that answered CHIP_ID. */
  found: number;
  expected: number;
  /** Index of the first chip that did not answer, when fewer than expected did. */
  brokenAt: number | undefined;
  interval: number;
  addresses: number[];
  chipIds: number[];
}

export class ChainLinkError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface PendingRead {
  chip: number;
  reg: number;
  resolve: (v: number) => void;
  timer: NodeJS.Timeout;
}

/**
 * The driver for one chain of L7 chips on one link: register access, enumeration, PLL, jobs out, nonces in.
 * Nonces go to `onNonce` as plain calls (the hot path); everything odd is counted and logged with board and chip.
 */
export class ChainLink {
  readonly parser: ResponseParser;
  readonly counters: LinkCounters;
  /** Addresses handed out at enumeration; replies from anything else are impossible frames. */
  addresses = new Set<number>();
  onNonce: (r: NonceReply) => void = () => {};
  private pending: PendingRead[] = [];
  private collector: ((r: Extract<Response, { kind: 'register' }>) => void) | undefined;
  private collectorReg = -1;
  /** the register of the last broadcast read, and until when its stragglers are expected */
  private lateReg = -1;
  private lateUntilMs = 0;
  /** reads that timed out lately: their replies may still come */
  private timedOut: { chip: number; reg: number; untilMs: number }[] = [];
  private readonly log: Logger;

  constructor(
    readonly transport: ByteTransport,
    log: Logger,
    private readonly opts: { readTimeoutMs?: number; retries?: number } = {},
  ) {
    this.log = log;
    this.parser = new ResponseParser((r) => this.onFrame(r));
    const pc = this.parser.counters;
    this.counters = {
      get crcErrors() {
        return pc.crcErrors;
      },
      get garbageBytes() {
        return pc.garbageBytes;
      },
      get frames() {
        return pc.frames;
      },
      nonceReplies: 0,
      registerReplies: 0,
      impossibleFrames: 0,
      readTimeouts: 0,
      lateReplies: 0,
    };
    transport.on('data', (d: Buffer) => this.parser.push(d));
  }

  private onFrame(r: Response): void {
    if (r.kind === 'nonce') {
      if (this.addresses.size > 0 && !this.addresses.has(r.chip)) {
        this.impossible(`nonce reply from chip address ${r.chip}, beyond the chain`);
        return;
      }
      this.counters.nonceReplies++;
      this.onNonce(r);
      return;
    }
    this.counters.registerReplies++;
    if (!KNOWN_CHIP_REGS.has(r.reg)) {
      this.impossible(`register reply for unknown register 0x${r.reg.toString(16)} from chip ${r.chip}`);
      return;
    }
    if (this.collector && r.reg === this.collectorReg) {
      this.collector(r);
      return;
    }
    const i = this.pending.findIndex((p) => p.chip === r.chip && p.reg === r.reg);
    if (i < 0) {
      // a reply that came after its read stopped listening (a broadcast read, or a read that timed out and was
      // retried): counted, not an anomaly
      const now = Date.now();
      const late = this.timedOut.findIndex((x) => x.chip === r.chip && x.reg === r.reg && now < x.untilMs);
      if (late >= 0) this.timedOut.splice(late, 1);
      if (late >= 0 || (r.reg === this.lateReg && now < this.lateUntilMs)) {
        this.counters.lateReplies++;
        return;
      }
      this.impossible(`unrequested register reply 0x${r.reg.toString(16)} from chip ${r.chip}`);
      return;
    }
    const [p] = this.pending.splice(i, 1);
    clearTimeout(p.timer);
    p.resolve(r.value);
  }

  private impossible(what: string): void {
    this.counters.impossibleFrames++;
    this.log.warn({ path: this.transport.path }, what);
  }

  send(frame: Buffer): void {
    this.transport.write(frame);
  }

  /** Reads one chip's register, with a timeout and retries. */
  async read(chip: number, reg: number): Promise<number> {
    const tries = (this.opts.retries ?? 3) + 1;
    for (let attempt = 0; attempt < tries; attempt++) {
      // a closed link cannot answer: fail now rather than wait out every retry (a stopped board's bring-up ends)
      if (!this.transport.isOpen)
        throw new ChainLinkError('ENOTOPEN', `chip ${chip} register 0x${reg.toString(16)}: link closed`);
      const v = await new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => {
          const i = this.pending.findIndex((p) => p.timer === timer);
          if (i >= 0) this.pending.splice(i, 1);
          this.counters.readTimeouts++;
          this.timedOut.push({ chip, reg, untilMs: Date.now() + 2000 });
          if (this.timedOut.length > 16) this.timedOut.shift();
          resolve(undefined);
        }, this.opts.readTimeoutMs ?? 100);
        this.pending.push({ chip, reg, resolve, timer });
        this.send(readRegister(chip, reg));
      });
      if (v !== undefined) return v;
    }
    throw new ChainLinkError('ETIMEOUT', `chip ${chip} did not answer a read of register 0x${reg.toString(16)}`);
  }

  /**
   * Broadcast read: every chip's reply in chain order, collected until the link is quiet for `quietMs` after a reply.
   * The first reply gets `firstMs`: a busy host (or simulator) may take longer to start answering than the gap
   * between two replies, and a bring-up failed for that costs a retry.
   */
  async readAll(reg: number, quietMs = 60, maxMs = 3000, firstMs = 500): Promise<{ chip: number; value: number }[]> {
    const out: { chip: number; value: number }[] = [];
    await new Promise<void>((resolve) => {
      let quiet: NodeJS.Timeout;
      const end = setTimeout(finish, maxMs);
      function finish() {
        clearTimeout(quiet);
        clearTimeout(end);
        resolve();
      }
      const arm = (ms: number) => {
        clearTimeout(quiet);
        quiet = setTimeout(finish, ms);
      };
      this.collectorReg = reg;
      this.collector = (r) => {
        out.push({ chip: r.chip, value: r.value });
        arm(quietMs);
      };
      arm(Math.max(quietMs, firstMs));
      this.send(readRegister(0, reg, true));
    });
    this.collector = undefined;
    this.collectorReg = -1;
    this.lateReg = reg;
    this.lateUntilMs = Date.now() + 2000;
    return out;
  }

  write(chip: number, reg: number, value: number): void {
    this.send(writeRegister(chip, reg, value));
  }

  broadcastWrite(reg: number, value: number): void {
    this.send(writeRegister(0, reg, value, true));
  }

  /** Contract §1.5: count, address, configure. Frequencies are ramped separately (rampFrequency). */
  async enumerate(expected: number, versionMask: number, ticketZeros: number): Promise<Enumeration> {
    this.addresses = new Set();
    const ids = (await this.readAll(REG.CHIP_ID)).filter((r) => r.value >>> 16 === CHIP_ID_MAGIC);
    const found = ids.length;
    if (found === 0)
      throw new ChainLinkError('ENOCHIPS', 'no chip answered CHIP_ID: chain unpowered or broken at chip 0');
    const brokenAt = found < expected ? found : undefined;
    if (brokenAt !== undefined) {
      this.log.error(
        { expected, found, brokenAt },
        `chain broken at chip ${brokenAt}: chips after it cannot be reached`,
      );
    }
    this.send(chainInactive());
    const interval = Math.floor(256 / found);
    const addresses = Array.from({ length: found }, (_, i) => i * interval);
    for (const a of addresses) this.send(setAddress(a));
    // Check: every chip now answers from its new address.
    const after = await this.readAll(REG.CHIP_ID);
    const got = after.map((r) => r.chip);
    if (got.length !== found || got.some((c, i) => c !== addresses[i])) {
      throw new ChainLinkError(
        'EADDRESS',
        `addressing failed: expected ${found} chips at ${interval}-steps, got [${got.join(',')}]`,
      );
    }
    this.addresses = new Set(addresses);
    this.broadcastWrite(REG.VERSION_MASK, versionMaskRegister(versionMask));
    this.broadcastWrite(REG.TICKET_ZEROS, ticketZeros);
    return { found, expected, brokenAt, interval, addresses, chipIds: ids.map((r) => r.value) };
  }

  /** Sets PLL0 of the given chips, ramping in steps of at most 25 MHz with a settle delay between steps. */
  async rampFrequency(chips: number[], fromMHz: number, toMHz: number, settleMs = 20): Promise<number> {
    let last = fromMHz;
    const steps = fromMHz === toMHz ? [toMHz] : rampSteps(fromMHz, toMHz);
    for (const f of steps) {
      const pll = findPll(f);
      const value = encodePll(pll);
      for (const c of chips) this.write(c, REG.PLL0, value);
      last = pll.freqMHz;
      if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
    }
    // Read back the last chip: proves the writes arrived (the link is ordered) and the chain still answers.
    const tail = chips[chips.length - 1];
    if (tail !== undefined) {
      const v = await this.read(tail, REG.PLL0);
      if (v !== encodePll(findPll(toMHz))) {
        throw new ChainLinkError('EPLL', `chip ${tail} reads PLL0 ${v.toString(16)} after the ramp to ${toMHz} MHz`);
      }
    }
    return last;
  }

  sendJob(j: JobFields): void {
    this.send(jobFrame(j));
  }
}

/** VERSION_MASK register value for a header mask: `90 00 hi lo` with (hi lo) = mask >> 13. */
export function versionMaskRegister(mask: number): number {
  const bits = (mask >>> 13) & 0xffff;
  return bits === 0 ? 0 : (0x9000_0000 | bits) >>> 0;
}
