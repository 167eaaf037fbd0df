import type { Config } from '../config/schema.js';
import { type FanReading, HwmonFans } from '../device/fans.js';
import { RATINGS } from '../device/maijie-l7/ratings.js';
import type { Component } from '../util/lifecycle.js';
import type { Logger } from '../util/log.js';
import type { ChainController } from './controller.js';

/**
 * Fan speed from the hottest chip: full speed until there are readings, then a proportional step toward the target
 * temperature, never below the configured minimum while any board runs. A fan that stops while driven is reported and
 * the others run at full speed; with fewer working fans than `min_working`, or fans that cannot be read, every board
 * is powered off until enough turn again.
 */
export class FanController implements Component {
  readonly name = 'fans';
  pwm: number = RATINGS.pwmMax;
  readings: FanReading[] = [];
  failed = new Set<number>();
  noAirflow = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly fans: HwmonFans;
  private lowSince = new Map<number, number>();
  /** when reading the hwmon folder started failing (0: it reads) */
  private unreadableSince = 0;
  private stepFailing = false;
  private thermal: Config['thermal'];

  constructor(
    private readonly cfg: Config['fans'],
    thermal: Config['thermal'],
    private readonly chains: ChainController[],
    private readonly log: Logger,
    /** how long a fan may turn too slowly while driven before it counts as failed */
    private readonly failAfterMs = 10_000,
  ) {
    this.fans = new HwmonFans(cfg.hwmon, cfg.count);
    this.thermal = thermal;
  }

  async start(): Promise<void> {
    await this.apply(RATINGS.pwmMax);
    if (this.cfg.count > 0) this.readings = await this.fans.readAll();
    this.timer = setInterval(() => void this.step(), 2000);
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

  private async step(): Promise<void> {
    try {
      const temps = this.chains
        .filter((c) => c.state === 'mining' || c.state === 'cooling')
        .map((c) => c.readings.maxChipC);
      const hottest = temps.length ? Math.max(...temps.filter((t) => Number.isFinite(t))) : Number.NaN;
      let next = this.pwm;
      if (!Number.isFinite(hottest)) next = temps.length ? RATINGS.pwmMax : this.cfg.min_pwm;
      // one fan down: the others make up for it (the temperature cut-off still guards the boards)
      else if (hottest >= this.thermal.hot_c || this.failed.size > 0) next = RATINGS.pwmMax;
      else next = this.pwm + (hottest - this.thermal.target_c) * 4;
      next = Math.max(this.cfg.min_pwm, Math.min(RATINGS.pwmMax, next));
      if (Math.abs(next - this.pwm) >= 1) await this.apply(next);
      this.readings = await this.readFans();
      const now = Date.now();
      for (const f of this.readings) {
        // driven at least at the minimum PWM, a healthy fan turns faster than min_rpm
        const low = f.pwm > 0 && f.pwm >= this.cfg.min_pwm && f.rpm < this.cfg.min_rpm;
        if (!low) {
          this.lowSince.delete(f.fan);
          if (this.failed.delete(f.fan)) this.log.info({ fan: f.fan, rpm: f.rpm }, 'fan recovered');
          continue;
        }
        const since = this.lowSince.get(f.fan) ?? now;
        this.lowSince.set(f.fan, since);
        if (now - since > this.failAfterMs && !this.failed.has(f.fan)) {
          this.failed.add(f.fan);
          this.log.error({ fan: f.fan, rpm: f.rpm, pwm: f.pwm }, 'fan failed; the others run at full speed');
        }
      }
      if (this.stepFailing) this.log.info('fan control works again');
      this.stepFailing = false;
    } catch (err) {
      // once per failing spell, not every step
      if (!this.stepFailing)
        this.log.error({ err: (err as Error).message }, 'fan control failed; fans left as they were');
      this.stepFailing = true;
    }
    await this.airflowGuard();
  }

  /** Readings of every fan; while the folder cannot be read, the time it started failing is kept. */
  private async readFans(): Promise<FanReading[]> {
    try {
      const r = await this.fans.readAll();
      this.unreadableSince = 0;
      return r;
    } catch (err) {
      if (!this.unreadableSince) this.unreadableSince = Date.now();
      throw err;
    }
  }

  /** Too few working fans, or fans unread for too long: nothing may run until enough turn again. */
  private async airflowGuard(): Promise<void> {
    if (this.cfg.count === 0) return;
    const unreadable = this.unreadableSince > 0 && Date.now() - this.unreadableSince > this.failAfterMs;
    const working = this.cfg.count - this.failed.size;
    const short = unreadable || working < this.cfg.min_working;
    if (short && !this.noAirflow) {
      this.noAirflow = true;
      const why = unreadable
        ? `fans unreadable for ${Math.round(this.failAfterMs / 1000)} s`
        : working === 0
          ? 'every fan has failed'
          : `${working} of ${this.cfg.count} fans working, ${this.cfg.min_working} needed`;
      this.log.fatal(`${why}: powering all boards off`);
      await Promise.all(this.chains.map((c) => c.safetyOff(why).catch(() => {})));
    } else if (!short && this.noAirflow) {
      this.noAirflow = false;
      this.log.info('enough fans turn again: boards may start once cool');
      for (const c of this.chains) c.safetyClear();
    }
  }
}
