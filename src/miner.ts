import { stringify } from 'smol-toml';
import { ChainController } from './chain/controller.js';
import { FanController } from './chain/fans.js';
import type { Config, PoolConfig } from './config/schema.js';
import { PoolManager, type ShareTotals } from './pool/manager/manager.js';
import type { Share } from './pool/work/work.js';
import { writeFileAtomic } from './util/atomic-file.js';
import type { Component } from './util/lifecycle.js';
import type { Logger } from './util/log.js';
import { VERSION } from './version.js';

export interface Summary extends ShareTotals {
  version: string;
  uptimeS: number;
  hashrate: { h5s: number; h1m: number; h5m: number; h15m: number; avg: number };
  idealHashrateHs: number;
  bestShare: number;
  hwErrors: number;
  /** verified nonces */
  nonces: number;
  powerW: number;
  jPerTh: number;
  pool: number | undefined;
}

/**
 * The mining runtime: the pool manager, one controller per board and the fans. The API reads it and asks its
 * owners to change things; it owns no state of its own beyond wiring.
 */
export class Miner {
  readonly pools: PoolManager;
  readonly chains: ChainController[];
  readonly fans: FanController;
  readonly startedMs = Date.now();

  constructor(
    public config: Config,
    readonly configFile: string | undefined,
    readonly log: Logger,
  ) {
    this.pools = new PoolManager(config.pool, config.pools, log.child({ component: 'pool' }), (pools, strategy) =>
      this.persistPools(pools, strategy),
    );
    const enabled = config.chains.filter((c) => c.enabled);
    this.chains = enabled.map(
      (c, i) =>
        new ChainController(i, c, enabled.length, config.thermal, this.pools, log, config.tuning.nonces_per_chip_s),
    );
    this.fans = new FanController(config.fans, config.thermal, this.chains, log.child({ component: 'fans' }));
    if (config.tuning.mode !== 'off') {
      log.warn(
        { mode: config.tuning.mode },
        'auto-tuning is not implemented yet; boards run at their configured frequency and voltage',
      );
    }
    // per-board share results (the pool manager owns the per-pool ones)
    this.pools.on('share', (share: Share, r: { accepted: boolean }) => {
      const c = share.board === undefined ? undefined : this.chains[share.board];
      if (!c) return;
      const k = c.counters;
      if (r.accepted) {
        k.accepted++;
        k.acceptedDifficulty += share.targetDifficulty;
        k.lastShareMs = Date.now();
        k.lastSharePool = Number(share.poolId);
        k.lastShareDifficulty = share.targetDifficulty;
      } else {
        k.rejected++;
        k.rejectedDifficulty += share.targetDifficulty;
      }
    });
  }

  /** Start order: fans first (cooling before heat), pools, then the boards. */
  components(): Component[] {
    return [this.fans, this.pools, ...this.chains];
  }

  /** Saves runtime pool changes back to the config file, atomically. */
  private persistPools(pools: PoolConfig[], strategy: Config['pool']): void {
    this.config = { ...this.config, pools, pool: strategy };
    if (!this.configFile) return;
    try {
      writeFileAtomic(
        this.configFile,
        `# written by asicd ${VERSION} after a runtime pool change\n${stringify(this.config)}\n`,
        0o600,
      );
    } catch (err) {
      this.log.error({ err: (err as Error).message, file: this.configFile }, 'could not save the pool change');
    }
  }

  paused = false;

  /** Curtailment: every board idle and powered off until resume(). */
  async pause(): Promise<void> {
    this.paused = true;
    await Promise.all(this.chains.map((c) => c.pause()));
  }

  async resume(): Promise<void> {
    this.paused = false;
    await Promise.all(this.chains.map((c) => c.resume()));
  }

  /** Restarts mining: every board brought up again, every pool reconnected. */
  async restart(): Promise<void> {
    for (const p of this.pools.pools) if (p.started) p.client.restart('restart requested');
    await Promise.all(this.chains.map((c) => c.restart()));
  }

  private cached: { atMs: number; value: Summary } | undefined;

  /** The summary, computed at most every 200 ms: API polling must not take time from the nonce path. */
  summary(): Summary {
    const now = Date.now();
    if (this.cached && now - this.cached.atMs < 200) return this.cached.value;
    const value = this.computeSummary();
    this.cached = { atMs: now, value };
    return value;
  }

  private computeSummary(): Summary {
    const sumW = (f: (c: ChainController) => ReturnType<ChainController['meter']['windows']>) => {
      const out = { h5s: 0, h1m: 0, h5m: 0, h15m: 0, avg: 0 };
      for (const c of this.chains) {
        const w = f(c);
        out.h5s += w.h5s;
        out.h1m += w.h1m;
        out.h5m += w.h5m;
        out.h15m += w.h15m;
        out.avg += w.avg;
      }
      return out;
    };
    const hashrate = sumW((c) => c.meter.windows());
    let accepted = 0;
    let rejected = 0;
    let stale = 0;
    let lost = 0;
    let acceptedDifficulty = 0;
    let rejectedDifficulty = 0;
    let staleDifficulty = 0;
    for (const p of this.pools.pools) {
      accepted += p.stats.accepted;
      rejected += p.stats.rejected;
      stale += p.stats.stale;
      lost += p.stats.lost;
      acceptedDifficulty += p.stats.acceptedDifficulty;
      rejectedDifficulty += p.stats.rejectedDifficulty;
      staleDifficulty += p.stats.staleDifficulty;
    }
    const powerW = this.chains.reduce((a, c) => a + (c.state === 'mining' ? c.readings.powerW : 0), 0);
    const th = hashrate.h1m / 1e12;
    return {
      version: VERSION,
      uptimeS: Math.round((Date.now() - this.startedMs) / 1000),
      hashrate,
      idealHashrateHs: this.chains.reduce((a, c) => a + (c.state === 'mining' ? c.idealHashrateHs : 0), 0),
      accepted,
      rejected,
      stale,
      lost,
      acceptedDifficulty,
      rejectedDifficulty,
      staleDifficulty,
      bestShare: Math.max(0, ...this.chains.map((c) => c.counters.bestShare)),
      hwErrors: this.chains.reduce((a, c) => a + c.counters.hwErrors, 0),
      nonces: this.chains.reduce((a, c) => a + c.chips.reduce((n, x) => n + x.nonces, 0), 0),
      powerW,
      jPerTh: th > 0 ? powerW / th : 0,
      pool: this.pools.current?.id,
    };
  }
}

/** Logs the summary periodically: the journal keeps a record even without the API. */
export class StatsReporter implements Component {
  readonly name = 'stats';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly miner: Miner,
    private readonly intervalS: number,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.intervalS > 0)
      this.timer = setInterval(() => this.log.info(this.miner.summary(), 'summary'), this.intervalS * 1000);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }
}
