import { join } from 'node:path';
import type { ChainController } from '../chain/controller.js';
import type { PoolEntry } from '../pool/manager/manager.js';
import type { Component } from '../util/lifecycle.js';
import type { Logger } from '../util/log.js';
import { type BoardSample, type HistorySample, HistoryStore, MAX_SAMPLES } from './history.js';

export interface HistorySettings {
  enabled: boolean;
  interval_s: number;
  days: number;
}

/** What the recorder reads: the boards and the pools (the miner has both). */
export interface HistorySource {
  readonly chains: readonly ChainController[];
  readonly pools: { readonly pools: readonly PoolEntry[] };
}

interface BoardAcc {
  hashes: number;
  powerSumW: number;
  powerN: number;
  maxChipC: number;
}

/** Power and temperature are read this often within a sample's span. */
const READ_EVERY_MS = 5000;

/**
 * Takes one history sample per `interval_s`, on wall-clock boundaries so samples line up across restarts: hash rate
 * from the boards' hash counters, power averaged and the hottest chip over the span, shares per pool. A stop writes
 * the partial span, so a restart loses nothing that was measured.
 */
export class HistoryRecorder implements Component {
  readonly name = 'history';
  readonly store: HistoryStore;
  private timer: NodeJS.Timeout | undefined;
  private spanStartMs = 0;
  private boards: BoardAcc[] = [];
  private lastHashes = new Map<ChainController, number>();
  private lastShares = new Map<PoolEntry, { accepted: number; rejected: number }>();
  private running = false;

  constructor(
    private readonly source: HistorySource,
    readonly settings: HistorySettings,
    stateDir: string,
    private readonly log: Logger,
  ) {
    const retentionS = settings.days * 86_400;
    this.store = new HistoryStore(join(stateDir, 'history.bin'), retentionS, log);
    if (retentionS / settings.interval_s > MAX_SAMPLES) {
      log.warn(
        { days: settings.days, interval_s: settings.interval_s, kept: MAX_SAMPLES },
        'history keeps at most this many samples; older ones are dropped before `days`',
      );
    }
  }

  get intervalS(): number {
    return this.settings.interval_s;
  }

  async start(): Promise<void> {
    const r = this.store.open();
    this.log.info({ file: this.store.file, ...r }, 'history loaded');
    this.running = true;
    this.beginSpan(Date.now());
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    const now = Date.now();
    // the partial span, however short: shares counted in it would otherwise be lost
    if (now > this.spanStartMs) this.write(now);
    this.store.close();
  }

  private schedule(): void {
    if (!this.running) return;
    const step = Math.min(READ_EVERY_MS, this.settings.interval_s * 1000);
    const now = Date.now();
    this.timer = setTimeout(() => this.tick(), step - (now % step) + 1);
  }

  private tick(): void {
    try {
      const now = Date.now();
      this.read();
      const intervalMs = this.settings.interval_s * 1000;
      if (Math.floor(now / intervalMs) > Math.floor(this.spanStartMs / intervalMs)) this.write(now);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'history sample failed');
    }
    this.schedule();
  }

  private beginSpan(now: number): void {
    this.spanStartMs = now;
    this.boards = this.source.chains.map(() => ({ hashes: 0, powerSumW: 0, powerN: 0, maxChipC: Number.NaN }));
    for (const c of this.source.chains) this.lastHashes.set(c, c.meter.totalHashes);
    this.read();
  }

  /** Power and temperatures now, into the span's sums. */
  private read(): void {
    this.source.chains.forEach((c, i) => {
      const acc = this.boards[i];
      if (!acc) return;
      acc.powerSumW += c.state === 'mining' ? c.readings.powerW : 0;
      acc.powerN++;
      const t = c.readings.maxChipC;
      if (Number.isFinite(t) && c.state !== 'lost' && !(t <= acc.maxChipC)) acc.maxChipC = t;
    });
  }

  private write(now: number): void {
    const spanS = (now - this.spanStartMs) / 1000;
    const boards: BoardSample[] = this.source.chains.map((c, i) => {
      const acc = this.boards[i];
      const total = c.meter.totalHashes;
      const hashes = total - (this.lastHashes.get(c) ?? total);
      return {
        mining: c.state === 'mining',
        hashrateHs: spanS > 0 ? hashes / spanS : 0,
        powerW: acc && acc.powerN > 0 ? acc.powerSumW / acc.powerN : 0,
        maxChipC: acc?.maxChipC ?? Number.NaN,
      };
    });
    const pools = this.source.pools.pools.map((p) => {
      const last = this.lastShares.get(p) ?? { accepted: 0, rejected: 0 };
      const cur = { accepted: p.stats.accepted, rejected: p.stats.rejected };
      this.lastShares.set(p, cur);
      return {
        label: `${p.config.url} ${p.config.user}`,
        accepted: Math.max(0, cur.accepted - last.accepted),
        rejected: Math.max(0, cur.rejected - last.rejected),
      };
    });
    const sample: HistorySample = { tS: Math.round(now / 1000), spanS: Math.round(spanS), boards, pools };
    try {
      this.store.append(sample);
    } catch (err) {
      this.log.error({ err: (err as Error).message, file: this.store.file }, 'could not write history');
    }
    this.beginSpan(now);
  }
}
