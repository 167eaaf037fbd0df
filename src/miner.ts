import { ChainController } from './chain/controller.js';
import { FanController } from './chain/fans.js';
import { Tuner } from './chain/tuner/tuner.js';
import type { Config, PoolConfig } from './config/schema.js';
import { ConfigStore } from './config/store.js';
import { findPll } from './device/maijie-l7/pll.js';
import { RATINGS } from './device/maijie-l7/ratings.js';
import { AlertEngine } from './monitor/alerts/engine.js';
import { readAlertInputs } from './monitor/alerts/inputs.js';
import { FanHealth } from './monitor/fan-health.js';
import { HistoryRecorder } from './monitor/history-recorder.js';
import { Supervisor } from './monitor/supervisor.js';
import { MqttBridge } from './mqtt/bridge.js';
import { Notifier } from './notify/notifier.js';
import { PoolManager, type ShareTotals } from './pool/manager/manager.js';
import type { Share } from './pool/work/work.js';
import type { Component } from './util/lifecycle.js';
import type { Logger } from './util/log.js';
import { VERSION } from './version.js';

/** The share counters cgminer's `zero all` resets (of boards and pools); the rest (link, safety) stays. */
const SHARE_COUNTERS = new Set([
  'accepted',
  'rejected',
  'stale',
  'lost',
  'acceptedDifficulty',
  'rejectedDifficulty',
  'staleDifficulty',
  'bestShare',
  'hwErrors',
  'lastShareDifficulty',
]);

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
  readonly alerts: AlertEngine;
  readonly notifier: Notifier;
  readonly mqtt: MqttBridge | undefined;
  readonly supervisor: Supervisor;
  readonly tuner: Tuner;
  readonly history: HistoryRecorder;
  readonly startedMs = Date.now();
  /** The config's one owner; runtime changes (pool operations, ascset) are saved through it. */
  readonly store: ConfigStore;

  constructor(
    config: Config,
    readonly configFile: string | undefined,
    readonly log: Logger,
    store?: ConfigStore,
  ) {
    this.store = store ?? new ConfigStore({ document: config, file: configFile });
    this.pools = new PoolManager(config.pool, config.pools, log.child({ component: 'pool' }), (pools, strategy) =>
      this.persistPools(pools, strategy),
    );
    const enabled = config.chains.filter((c) => c.enabled);
    this.chains = enabled.map(
      (c, i) =>
        new ChainController(i, c, enabled.length, config.thermal, this.pools, log, config.tuning.nonces_per_chip_s),
    );
    const fanHealth = new FanHealth(config.fans, log.child({ component: 'fans' }));
    this.fans = new FanController(
      config.fans,
      config.thermal,
      this.chains,
      fanHealth,
      log.child({ component: 'fans' }),
    );
    this.supervisor = new Supervisor(this.chains, fanHealth, config.thermal, log.child({ component: 'supervisor' }));
    this.pools.setHashrateSource(() => this.chains.reduce((a, c) => a + c.idealHashrateHs, 0));
    // no usable pool: boards idle powered off, and start at once when a pool returns
    this.pools.on('work', (available: boolean) => this.setNoWork(!available));
    this.history = new HistoryRecorder(
      this,
      config.history,
      config.daemon.state_dir,
      log.child({ component: 'history' }),
    );
    this.alerts = new AlertEngine(
      config.alerts,
      config.daemon.state_dir,
      () => readAlertInputs(this),
      log.child({ component: 'alerts' }),
    );
    this.notifier = new Notifier(config.notify, this.alerts, log.child({ component: 'notify' }));
    this.mqtt = config.mqtt.enabled ? new MqttBridge(config.mqtt, this, log.child({ component: 'mqtt' })) : undefined;
    this.tuner = new Tuner(this.chains, config, log.child({ component: 'tuner' }));
    // per-board share results (the pool manager owns the per-pool ones)
    this.pools.on('share', (share: Share, r: { accepted: boolean; lost?: boolean }) => {
      const c = share.board === undefined ? undefined : this.chains[share.board];
      if (!c) return;
      const k = c.counters;
      if (r.accepted) {
        k.accepted++;
        k.acceptedDifficulty += share.targetDifficulty;
        k.lastShareMs = Date.now();
        k.lastSharePool = Number(share.poolId);
        k.lastShareDifficulty = share.targetDifficulty;
      } else if (!r.lost) {
        // a share the pool never answered (lost) is not the device's reject: cgminer counts it apart
        k.rejected++;
        k.rejectedDifficulty += share.targetDifficulty;
      }
    });
  }

  /** What runs now. */
  get config(): Config {
    return this.store.running;
  }

  /**
   * Start order: fans first (cooling before heat), the safety supervisor, the history (so that it stops after pools
   * and boards and keeps their last counts), pools, then the boards; last the config sync (no start work).
   */
  components(): Component[] {
    const sync: Component & { reload: Miner['reload'] } = {
      name: 'miner-config',
      start: async () => {},
      stop: async () => {},
      reload: (next, changed) => this.reload(next, changed),
    };
    const history = this.config.history.enabled ? [this.history] : [];
    // alerts and their outlets observe the rest, so they start after it and stop before it
    const observers = [this.alerts, this.notifier, ...(this.mqtt ? [this.mqtt] : [])];
    return [this.fans, this.supervisor, ...history, this.pools, ...this.chains, this.tuner, sync, ...observers];
  }

  /** Saves runtime pool changes through the config store (which writes the file atomically). */
  private persistPools(pools: PoolConfig[], strategy: Config['pool']): void {
    try {
      this.store.record('pool change', (c) => ({ ...(c as Config), pools, pool: strategy }));
    } catch (err) {
      this.log.error({ err: (err as Error).message, file: this.configFile }, 'could not save the pool change');
    }
  }

  /** cgminer's zero: share counters (or only the best shares) of every board and pool back to 0. */
  zeroStats(what: 'all' | 'bestshare'): void {
    const zero = (o: object) => {
      const rec = o as Record<string, unknown>;
      for (const k of Object.keys(rec))
        if (typeof rec[k] === 'number' && (what === 'all' ? SHARE_COUNTERS.has(k) : k === 'bestShare')) rec[k] = 0;
    };
    for (const c of this.chains) zero(c.counters);
    for (const p of this.pools.pools) zero(p.stats);
    this.cached = undefined;
  }

  /** The rated frequency range of the boards, as text (`50-800`). */
  frequencyRange(): string {
    return `${RATINGS.freqMinMHz}-${RATINGS.freqMaxMHz}`;
  }

  /** Why a board cannot run at this frequency, or undefined when it can (the chain's rating decides). */
  frequencyProblem(freqMHz: number): string | undefined {
    if (!Number.isFinite(freqMHz) || freqMHz < RATINGS.freqMinMHz || freqMHz > RATINGS.freqMaxMHz)
      return `freq must be ${this.frequencyRange()}`;
    return undefined;
  }

  /** The frequency a board would really run at for a wanted one (the nearest the PLL makes). */
  nearestFrequencyMHz(freqMHz: number): number {
    return findPll(freqMHz).freqMHz;
  }

  /** Sets a board's frequency and saves it as that chain's frequency_mhz. */
  async setBoardFrequency(board: number, freqMHz: number): Promise<void> {
    const c = this.chains[board];
    if (!c) throw new Error(`no board ${board}`);
    const f = this.nearestFrequencyMHz(freqMHz);
    await c.setFrequency(f);
    this.tuner.setConfiguredMHz(c.index, f);
    this.store.record('ascset', (cfg) => {
      const next = cfg as Config;
      const i = next.chains.findIndex((x) => x.uart === c.config.uart);
      if (i >= 0) next.chains[i] = { ...next.chains[i], frequency_mhz: f };
      return next;
    });
  }

  /**
   * A config change (SIGHUP, REST): the pool list is brought in line live (pools added, removed, or changed
   * in place); a chain whose only change is its frequency is retuned. Everything else waits for a restart.
   */
  reload(next: Config, changed: string[]): string[] {
    const taken: string[] = [];
    if (changed.includes('pools')) {
      this.syncPools(next.pools);
      taken.push('pools');
    }
    if (changed.includes('chains')) {
      const prev = this.chains.map((c) => c.config);
      const onlyFreq =
        next.chains.filter((c) => c.enabled).length === prev.length &&
        next.chains
          .filter((c) => c.enabled)
          .every(
            (c, i) => JSON.stringify({ ...c, frequency_mhz: 0 }) === JSON.stringify({ ...prev[i], frequency_mhz: 0 }),
          );
      if (onlyFreq) {
        next.chains
          .filter((c) => c.enabled)
          .forEach((c, i) => {
            const ch = this.chains[i];
            this.tuner.setConfiguredMHz(ch.index, findPll(c.frequency_mhz).freqMHz);
            // the tuner owns the chips' frequencies while it runs (ascset is refused for the same reason): the new
            // setting is kept and is what the board goes back to when tuning is turned off
            if (this.tuner.mode !== 'off') return;
            if (ch.wantMHz !== findPll(c.frequency_mhz).freqMHz && ch.state === 'mining')
              void ch
                .setFrequency(findPll(c.frequency_mhz).freqMHz)
                .catch((err: Error) =>
                  this.log.warn({ board: i, err: err.message }, 'frequency change from the config failed'),
                );
          });
        taken.push('chains');
      }
    }
    // tuning goals apply live (every board starts over, from a matching profile); nonces_per_chip_s at a restart
    const tuning = changed.filter((k) => k.startsWith('tuning.') && k !== 'tuning.nonces_per_chip_s');
    if (tuning.length) {
      this.tuner.reconfigure(next.tuning, next.thermal);
      taken.push(...tuning);
    } else if (changed.some((k) => k.startsWith('thermal.'))) this.tuner.setThermal(next.thermal);
    return taken;
  }

  /** Pools matched by position: the same connection settings are updated in place, others replaced. */
  private syncPools(want: PoolConfig[]): void {
    const have = [...this.pools.pools];
    const conn = (p: PoolConfig) =>
      JSON.stringify([
        p.url,
        p.user,
        p.password,
        p.tls_ca_file,
        p.tls_insecure,
        p.suggest_difficulty,
        p.extranonce_subscribe,
      ]);
    const replace: number[] = [];
    want.forEach((w, i) => {
      const e = have[i];
      if (!e || conn(e.config) !== conn(w)) {
        this.pools.add(w);
        if (e) replace.push(e.id);
        return;
      }
      if (e.config.priority !== w.priority) this.pools.setPriority(e.id, w.priority);
      if (e.config.quota !== w.quota) this.pools.setQuota(e.id, w.quota);
      if (e.config.enabled !== w.enabled) w.enabled ? this.pools.enable(e.id) : this.pools.disable(e.id);
    });
    for (const e of have.slice(want.length)) replace.push(e.id);
    for (const id of replace)
      void this.pools
        .remove(id)
        .catch((err: Error) => this.log.warn({ pool: id, err: err.message }, 'pool not removed'));
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

  noWork = false;

  /**
   * No usable pool (on) or one back (off): boards idle powered off, and start at once when work returns. Composes
   * with pause and safety holds: a board runs only when none holds it.
   */
  setNoWork(on: boolean): void {
    this.noWork = on;
    for (const c of this.chains) c.setNoWork(on);
  }

  /** Restarts mining: every board brought up again, every pool reconnected. */
  async restart(): Promise<void> {
    this.pools.restartConnections('restart requested');
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
