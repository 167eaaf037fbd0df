import type { Config } from '../config/schema.js';
import type { FanReading } from '../device/fans.js';
import { HwmonFans } from '../device/fans.js';
import { RATINGS } from '../device/maijie-l7/ratings.js';
import type { FanHealth } from '../monitor/fan-health.js';
import type { Component } from '../util/lifecycle.js';
import type { Logger } from '../util/log.js';
import type { ChainController } from './controller.js';

/** Controller period. */
const STEP_MS = 1000;
/**
 * Feed-forward: heat one board sheds per °C of chip rise at full airflow (W/°C), calibrated on the L7 board's
 * thermal path. The airflow share a board needs is about its heat / (this × the rise it may take).
 */
const SHED_W_PER_C_FULL_AIR = 28;
/** PID gains, in PWM steps: per °C over target, per °C·s of accumulated error. */
const KP = 6;
const KI = 0.3;
/** The integral term's reach, PWM steps either way (anti-windup). */
const I_MAX = 90;

/**
 * Fan speed: a feed-forward from the heat the boards give off (POWER_W, so the fans move before the chips warm, at
 * start and resume) plus a PID on the hottest chip against `thermal.target_c`. Full speed before any reading, with a
 * fan failed, or with chips at hot_c. It powers nothing off: the supervisor does, from the same fan readings.
 */
export class FanController implements Component {
  readonly name = 'fans';
  pwm: number = RATINGS.pwmMax;
  /** The last computed terms, for the API and tests. */
  terms = { ff: 0, p: 0, i: 0 };
  private integral = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly fans: HwmonFans;
  private stepFailing = false;
  private thermal: Config['thermal'];

  constructor(
    private readonly cfg: Config['fans'],
    thermal: Config['thermal'],
    private readonly chains: ChainController[],
    readonly health: FanHealth,
    private readonly log: Logger,
  ) {
    this.fans = new HwmonFans(cfg.hwmon, cfg.count);
    this.thermal = thermal;
  }

  get readings(): FanReading[] {
    return this.health.readings;
  }

  get failed(): Set<number> {
    return this.health.failed;
  }

  get noAirflow(): boolean {
    return this.health.problem !== undefined;
  }

  async start(): Promise<void> {
    await this.apply(RATINGS.pwmMax);
    this.timer = setInterval(() => void this.step(), STEP_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    // boards are off by now; leave the fans running to carry the heat away
    await this.apply(RATINGS.pwmMax).catch(() => {});
  }

  reload(next: Config, changed: string[]): string[] {
    this.thermal = next.thermal;
    return changed.filter((k) => k.startsWith('thermal.') && k !== 'thermal.watchdog_s');
  }

  private async apply(pwm: number): Promise<void> {
    this.pwm = Math.round(pwm);
    if (this.cfg.count > 0) await this.fans.setAll(this.pwm);
  }

  /** The PWM the boards need now. */
  compute(dtS: number): number {
    const { target_c, hot_c } = this.thermal;
    const fresh = this.chains.filter((c) => Date.now() - c.readings.atMs < 5000);
    const temps = fresh.map((c) => c.readings.maxChipC).filter((t) => Number.isFinite(t));
    const starting = this.chains.some((c) => c.state === 'bringup' && c.lastMiningHeatW === 0);
    const running = this.chains.filter((c) => c.state === 'mining' || c.state === 'bringup');
    if (running.length > 0 && temps.length === 0) return RATINGS.pwmMax;
    // a board starting for the first time: its heat is not known yet, so full air until it is measured
    if (starting) return RATINGS.pwmMax;
    const hottest = temps.length ? Math.max(...temps) : Number.NaN;
    if (this.health.failed.size > 0 || this.health.problem || hottest >= hot_c) {
      this.integral = 0;
      return RATINGS.pwmMax;
    }
    // feed-forward from the hungriest board: measured heat, or what it drew last time while it comes up
    let ff = 0;
    for (const c of running) {
      if (c.state === 'mining' && c.readings.powerOn) c.lastMiningHeatW = Math.max(c.readings.heatW, 0);
      const heatW = c.state === 'mining' ? c.readings.heatW : c.lastMiningHeatW;
      const inletC = Number.isFinite(c.readings.inletC) ? c.readings.inletC : 25;
      const riseC = Math.max(5, target_c - inletC);
      ff = Math.max(ff, (heatW / (SHED_W_PER_C_FULL_AIR * riseC)) * RATINGS.pwmMax);
    }
    const e = Number.isFinite(hottest) ? hottest - target_c : 0;
    const p = KP * e;
    // integrate only while boards run; clamp so a long cool spell does not hold the fans low later
    if (running.length > 0) this.integral = Math.max(-I_MAX, Math.min(I_MAX, this.integral + KI * e * dtS));
    this.terms = { ff, p, i: this.integral };
    return Math.max(this.cfg.min_pwm, Math.min(RATINGS.pwmMax, ff + p + this.integral));
  }

  private async step(): Promise<void> {
    try {
      const next = this.compute(STEP_MS / 1000);
      if (Math.abs(next - this.pwm) >= 1) await this.apply(next);
      if (this.stepFailing) this.log.info('fan control works again');
      this.stepFailing = false;
    } catch (err) {
      // once per failing spell, not every step
      if (!this.stepFailing)
        this.log.error({ err: (err as Error).message }, 'fan control failed; fans left as they were');
      this.stepFailing = true;
    }
  }
}
