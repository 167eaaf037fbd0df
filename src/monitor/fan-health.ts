import type { Config } from '../config/schema.js';
import { type FanReading, HwmonFans } from '../device/fans.js';
import type { Logger } from '../util/log.js';

/** A fan turning too slowly while driven fails after this long; fans unreadable this long count as no airflow. */
export const FAN_FAIL_AFTER_MS = 3000;
export const FANS_UNREADABLE_AFTER_MS = 2000;

/**
 * The fans as the safety supervisor sees them: readings, failed fans, and whether there is enough airflow to run
 * any board (`problem`: why not). Read by the supervisor's own loop; the fan controller only drives PWM.
 */
export class FanHealth {
  readings: FanReading[] = [];
  readonly failed = new Set<number>();
  /** Why there is not enough airflow to run boards (undefined: there is). */
  problem: string | undefined;
  private readonly fans: HwmonFans;
  private readonly lowSince = new Map<number, number>();
  private unreadableSince = 0;

  constructor(
    private readonly cfg: Config['fans'],
    private readonly log: Logger,
  ) {
    this.fans = new HwmonFans(cfg.hwmon, cfg.count);
  }

  get count(): number {
    return this.cfg.count;
  }

  /** One look at every fan; updates failed fans and the airflow verdict. */
  async read(now = Date.now()): Promise<void> {
    if (this.cfg.count === 0) return;
    try {
      this.readings = await this.fans.readAll();
      if (this.unreadableSince) this.log.info('fans readable again');
      this.unreadableSince = 0;
    } catch (err) {
      if (!this.unreadableSince) {
        this.unreadableSince = now;
        this.log.error({ err: (err as Error).message }, 'fans cannot be read');
      }
    }
    if (!this.unreadableSince) {
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
        if (now - since >= FAN_FAIL_AFTER_MS && !this.failed.has(f.fan)) {
          this.failed.add(f.fan);
          this.log.error({ fan: f.fan, rpm: f.rpm, pwm: f.pwm }, 'fan failed; the others run at full speed');
        }
      }
    }
    const unreadable = this.unreadableSince > 0 && now - this.unreadableSince >= FANS_UNREADABLE_AFTER_MS;
    const working = this.cfg.count - this.failed.size;
    this.problem = unreadable
      ? `fans unreadable for ${Math.round(FANS_UNREADABLE_AFTER_MS / 1000)} s`
      : working < this.cfg.min_working
        ? working === 0
          ? 'every fan has failed'
          : `${working} of ${this.cfg.count} fans working, ${this.cfg.min_working} needed`
        : undefined;
  }
}
