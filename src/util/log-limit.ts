import type { Logger } from './log.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * One kind of log line that a remote peer can provoke at will (a pool's junk lines, a flood of rejects): the first
 * `burst` in each window are written, the rest only counted, and the next line written says how many were left out.
 * `total` counts every occurrence exactly, written or not, so counters and logs never disagree.
 */
export class LimitedLog {
  total = 0;
  suppressed = 0;
  private windowStartMs = 0;
  private inWindow = 0;

  constructor(
    private readonly log: Logger,
    private readonly level: Level,
    private readonly msg: string,
    private readonly burst = 5,
    private readonly windowMs = 60_000,
  ) {}

  /** Counts one occurrence and writes it unless the window's budget is spent. */
  hit(fields: Record<string, unknown> = {}, nowMs = Date.now()): void {
    this.total++;
    if (nowMs - this.windowStartMs >= this.windowMs) {
      this.windowStartMs = nowMs;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.burst) {
      this.suppressed++;
      return;
    }
    this.inWindow++;
    const extra = this.suppressed > 0 ? { suppressed: this.suppressed } : {};
    this.suppressed = 0;
    this.log[this.level]({ ...fields, ...extra, total: this.total }, this.msg);
  }
}
