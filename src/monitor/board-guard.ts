import type { ChainController, SafetyStatus } from '../chain/controller.js';
import type { Config } from '../config/schema.js';
import { McuClient } from '../device/maijie-l7/mcu.js';
import { FAULT_BITS } from '../device/maijie-l7/registers.js';
import type { Logger } from '../util/log.js';
import { Throttle } from './throttle.js';

/** A measured voltage this far under the set one (share), twice running, is a supply sag. */
const SAG_SHARE = 0.07;
/** Consecutive supervisor reads that fail before the board counts as lost. */
const MCU_FAILURES_LOST = 2;
/** A held board still powered after this many power-off attempts: stop feeding its watchdog. */
const OFF_ATTEMPTS_ESCALATE = 3;
/** Over-current and supply faults: the board may try again after this, doubling per repeat (at most 10 min). */
const FAULT_RETRY_MS = 30_000;
const FAULT_RETRY_MAX_MS = 600_000;
/** A thermal trip within this long of the last one waits out a retry time too (besides cooling below hot_c). */
const THERMAL_REPEAT_MS = 600_000;

type LatchKind = 'thermal' | 'fans' | 'over-current' | 'supply';

interface Latch {
  reason: string;
  atMs: number;
  /** for retry-after latches: when the board may try again */
  untilMs: number;
}

export interface GuardContext {
  thermal: Config['thermal'];
  /** why there is not enough airflow (undefined: there is) */
  airflow: string | undefined;
}

/**
 * The supervisor's watch over one board: reads its MCU (bounded, on its own client so a slow bring-up request never
 * holds a safety read for long), latches safety reasons, holds the board and powers it off, checks the power-off took,
 * retries it and, when it does not take, stops feeding the MCU watchdog so the board's own MCU cuts the power.
 */
export class BoardGuard {
  readonly latches = new Map<LatchKind, Latch>();
  readonly counters = { powerOffFailures: 0, escalations: 0, mcuReadFailures: 0, trips: 0 };
  /** Until when the watchdog is deliberately left unfed (0: fed). */
  escalatedUntilMs = 0;
  /** The last time a read of this board succeeded. */
  lastReadMs = 0;
  private readonly mcu: McuClient;
  private readonly throttle: Throttle;
  private failures = 0;
  private offAttempts = 0;
  private sagReads = 0;
  private armed = false;
  private retryMs = new Map<LatchKind, number>();
  private busy = false;
  private lastThermalMs = Number.NEGATIVE_INFINITY;
  private lastFaults = 0;

  constructor(
    readonly chain: ChainController,
    private readonly log: Logger,
  ) {
    // a safety read waits at most ~2 × 150 ms for an answer
    this.mcu = new McuClient(chain.mcuLink, log, { timeoutMs: 150, retries: 1 });
    this.throttle = new Throttle(chain, log);
    chain.safety = () => this.status();
  }

  status(): SafetyStatus {
    return {
      hold: this.chain.safetyReason ?? null,
      reasons: [...this.latches.values()].map((l) => l.reason),
      powerOffFailures: this.counters.powerOffFailures,
      escalations: this.counters.escalations,
      escalated: this.escalated,
      trips: this.counters.trips,
      lastReadMs: this.lastReadMs,
    };
  }

  get escalated(): boolean {
    return Date.now() < this.escalatedUntilMs;
  }

  /** The reason shown while held by safety. */
  get reason(): string | undefined {
    return [...this.latches.values()][0]?.reason;
  }

  /** One look at the board; resolves once done (the supervisor bounds how long it waits). */
  async check(ctx: GuardContext): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.checkOnce(ctx);
    } finally {
      this.busy = false;
    }
  }

  private async checkOnce(ctx: GuardContext): Promise<void> {
    const c = this.chain;
    const now = Date.now();
    // fans are global: latched even while the board cannot be read, so nothing starts it meanwhile
    if (ctx.airflow) this.latch('fans', ctx.airflow, now);
    else if (this.latches.delete('fans')) this.log.info('airflow back: fan hold lifted');
    if (now < this.escalatedUntilMs) {
      this.apply();
      return;
    }
    if (!c.mcuLink.isOpen) {
      this.failures = 0;
      this.armed = false;
      this.apply();
      return;
    }
    // a transition while reading (a bring-up finishing) makes POWER_EN stale for the new state
    const epoch = c.sm.epoch;
    let r: { temps: Awaited<ReturnType<McuClient['temps']>>; faults: number; on: boolean; mv: number; w: number };
    try {
      if (!this.armed) {
        // the supervisor owns the watchdog: armed whenever the link (re)opens, fed by every read below
        await this.mcu.setWatchdog(ctx.thermal.watchdog_s);
        this.armed = true;
      }
      r = {
        temps: await this.mcu.temps(),
        faults: await this.mcu.faults(),
        on: await this.mcu.power(),
        mv: await this.mcu.voltageMv(),
        w: await this.mcu.powerW(),
      };
    } catch (err) {
      this.failures++;
      this.counters.mcuReadFailures++;
      this.log.warn(
        { err: (err as Error).message, failures: this.failures },
        'board MCU did not answer the supervisor',
      );
      if (this.failures >= MCU_FAILURES_LOST) {
        this.failures = 0;
        this.armed = false;
        c.mcuLost('board MCU stopped answering');
      }
      this.apply();
      return;
    }
    this.failures = 0;
    this.lastReadMs = Date.now();
    const chipsC = r.temps.chipsC;
    c.readings = {
      tempsC: chipsC,
      inletC: r.temps.inletC,
      outletC: r.temps.outletC,
      maxChipC: chipsC.length ? Math.max(...chipsC) : Number.NaN,
      voltageMv: r.mv,
      powerW: r.w,
      heatW: r.w * 2 ** c.scaleShift,
      powerOn: r.on,
      faults: r.faults,
      atMs: this.lastReadMs,
    };
    const current = c.sm.live(epoch);
    this.judge(r.faults, r.on, r.mv, ctx, now, current);
    this.apply();
    if (current) await this.enforceOff(r.on, ctx);
    this.throttle.step(ctx.thermal);
  }

  private judge(faults: number, on: boolean, mv: number, ctx: GuardContext, now: number, current: boolean): void {
    const c = this.chain;
    const t = c.readings.maxChipC;
    const { hot_c, dangerous_c } = ctx.thermal;
    if (faults) {
      // logged when the bits change: a fault the MCU re-asserts every moment must not flood the log
      if (faults !== this.lastFaults) this.log.warn({ faults }, 'board MCU reports faults');
      void this.mcu.clearFaults().catch(() => {});
    }
    this.lastFaults = faults;
    if (faults & FAULT_BITS.OVER_TEMP) this.latch('thermal', 'the board MCU tripped on over-temperature', now);
    if (Number.isFinite(t) && t >= dangerous_c)
      this.latch('thermal', `chip at ${t.toFixed(1)} °C ≥ dangerous ${dangerous_c} °C`, now);
    if (faults & FAULT_BITS.OVER_CURRENT) this.latch('over-current', 'the board MCU cut power on over-current', now);
    // a supply fault matters while the board draws power; powered off, the bit says nothing new
    if (faults & FAULT_BITS.SUPPLY && (on || c.wantsPower))
      this.latch('supply', 'the board MCU reports a supply fault', now);
    if (current && on && c.state === 'mining' && c.voltageMv > 0 && mv < c.voltageMv * (1 - SAG_SHARE)) {
      if (++this.sagReads >= 2)
        this.latch('supply', `supply sag: ${mv} mV measured against ${c.voltageMv} mV set`, now);
    } else this.sagReads = 0;
    if (current && c.state === 'mining' && !on && this.latches.size === 0) {
      const why = faults & FAULT_BITS.WATCHDOG ? 'the board MCU watchdog tripped' : 'POWER_EN reads off';
      this.log.error({ faults }, `board powered off under a mining state: ${why}`);
      c.powerCut(why);
    }
    // releases: cool below hot for the thermal hold, airflow back (above), a retry time for electrical faults
    const th = this.latches.get('thermal');
    if (th && Number.isFinite(t) && t < hot_c && !(faults & FAULT_BITS.OVER_TEMP) && now >= th.untilMs) {
      this.log.info({ maxChipC: t }, `cooled below ${hot_c} °C; the board may start again`);
      this.latches.delete('thermal');
    }
    for (const k of ['over-current', 'supply'] as const) {
      const l = this.latches.get(k);
      if (l && now >= l.untilMs) {
        this.log.info({ hold: k }, `${k} hold over; the board tries again`);
        this.latches.delete(k);
      }
    }
  }

  private latch(kind: LatchKind, reason: string, now: number): void {
    const had = this.latches.get(kind);
    if (had) {
      had.reason = reason;
      return;
    }
    let untilMs = 0;
    // electrical faults always wait; a board that overheats again soon after a restart waits too, so a board that
    // cannot hold its temperature does not cycle on and off
    const repeat = kind === 'thermal' && now - this.lastThermalMs < THERMAL_REPEAT_MS;
    if (kind === 'over-current' || kind === 'supply' || repeat) {
      const wait = this.retryMs.get(kind) ?? FAULT_RETRY_MS;
      untilMs = now + wait;
      this.retryMs.set(kind, Math.min(FAULT_RETRY_MAX_MS, wait * 2));
    }
    if (kind === 'thermal') this.lastThermalMs = now;
    this.latches.set(kind, { reason, atMs: now, untilMs });
    this.counters.trips++;
    this.log.error({ hold: kind, maxChipC: this.chain.readings.maxChipC }, `powering the board off: ${reason}`);
  }

  /** Holds the board while any reason stands; lifts the hold once none does. */
  private apply(): void {
    const why = this.reason;
    if (why !== undefined) this.chain.safetyHold(why);
    else if (this.chain.safetyReason !== undefined) this.chain.safetyRelease();
  }

  /** The board's view changed without a state change: listeners of 'state' (the WebSocket) see it again. */
  private notify(): void {
    this.chain.emit('state', this.chain.state, this.chain.stateReason);
  }

  /** A board that should be off and reads on: power it off, retry, and escalate to the MCU watchdog. */
  private async enforceOff(on: boolean, ctx: GuardContext): Promise<void> {
    const c = this.chain;
    if (c.wantsPower || !on) {
      this.offAttempts = 0;
      return;
    }
    if (this.offAttempts >= OFF_ATTEMPTS_ESCALATE) {
      this.counters.escalations++;
      this.offAttempts = 0;
      this.armed = false;
      // silence is the one thing the MCU acts on by itself: it powers the board off after watchdog_s
      this.escalatedUntilMs = Date.now() + (ctx.thermal.watchdog_s + 2) * 1000;
      this.log.fatal(
        { attempts: OFF_ATTEMPTS_ESCALATE, watchdogS: ctx.thermal.watchdog_s },
        'the board stays powered after repeated power-offs: no longer feeding its watchdog so its MCU cuts the power',
      );
      this.notify();
      return;
    }
    this.offAttempts++;
    if (this.offAttempts > 1) {
      this.counters.powerOffFailures++;
      this.notify();
      this.log.error(
        { attempt: this.offAttempts },
        'the board still reads powered after a power-off; sending it again',
      );
    }
    try {
      await this.mcu.setPower(false);
    } catch (err) {
      this.counters.powerOffFailures++;
      this.notify();
      this.log.error({ err: (err as Error).message, attempt: this.offAttempts }, 'power-off failed; retrying');
    }
  }
}
