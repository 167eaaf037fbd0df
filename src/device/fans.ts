import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RATINGS } from './maijie-l7/ratings.js';

export interface FanReading {
  fan: number;
  pwm: number;
  rpm: number;
}

/** The controller's fans through Linux hwmon sysfs: pwmK (0–255), pwmK_enable (1 = manual), fanK_input (RPM). */
export class HwmonFans {
  constructor(
    readonly dir: string,
    readonly count: number,
  ) {}

  async setPwm(fan: number, pwm: number): Promise<void> {
    const v = Math.max(0, Math.min(RATINGS.pwmMax, Math.round(pwm)));
    await writeFile(join(this.dir, `pwm${fan}_enable`), '1\n');
    await writeFile(join(this.dir, `pwm${fan}`), `${v}\n`);
  }

  async setAll(pwm: number): Promise<void> {
    for (let i = 1; i <= this.count; i++) await this.setPwm(i, pwm);
  }

  async pwm(fan: number): Promise<number> {
    // a plain file standing in for sysfs (the simulator's) reads empty while our own write to it is under way
    for (let attempt = 0; attempt < 3; attempt++) {
      const v = Number.parseInt(await readFile(join(this.dir, `pwm${fan}`), 'utf8'), 10);
      if (Number.isFinite(v)) return v;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`pwm${fan}: not a number`);
  }

  async rpm(fan: number): Promise<number> {
    const v = Number.parseInt(await readFile(join(this.dir, `fan${fan}_input`), 'utf8'), 10);
    return Number.isFinite(v) ? v : 0;
  }

  async readAll(): Promise<FanReading[]> {
    const out: FanReading[] = [];
    for (let i = 1; i <= this.count; i++) out.push({ fan: i, pwm: await this.pwm(i), rpm: await this.rpm(i) });
    return out;
  }
}
