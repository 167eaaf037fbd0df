import { EventEmitter } from 'node:events';
import type { Config, PoolConfig } from '../../config/schema.js';
import type { Component } from '../../util/lifecycle.js';
import type { Logger } from '../../util/log.js';
import { USER_AGENT } from '../../version.js';
import { StratumClient, StratumError } from '../stratum/client.js';
import type { Job, Share } from '../work/work.js';
import { leastServed, type PoolView, type Strategy, selectPool } from './strategy.js';

export type PoolHealth = 'alive' | 'dead' | 'disabled' | 'rejecting';

/** Share counts by result, and their difficulty sums. */
export interface ShareTotals {
  accepted: number;
  rejected: number;
  stale: number;
  lost: number;
  acceptedDifficulty: number;
  rejectedDifficulty: number;
  staleDifficulty: number;
}

export interface PoolStats extends ShareTotals {
  lostDifficulty: number;
  lastShareMs: number;
  lastLatencyMs: number;
  bestShare: number;
  /** [time ms, difficulty] of accepted shares over the last 10 minutes, for the balance strategy */
  recent: [number, number][];
  rejectReasons: Record<string, number>;
  getworks: number;
}

export interface PoolEntry {
  id: number;
  config: PoolConfig;
  client: StratumClient;
  health: PoolHealth;
  aliveSinceMs: number;
  consecutiveRejects: number;
  stats: PoolStats;
  started: boolean;
  /** load balance: verified hashes done for this pool since the usable pools or their quotas last changed */
  lbHashes: number;
}

/** 'notify': the pool sent a job; 'switch': the chains should move to this pool's job now. */
export type JobListener = (job: Job, why: 'notify' | 'switch') => void;

const TEN_MIN_MS = 600_000;

/**
 * Which pool mines now. Owns the pool connections, their health and share statistics; hands jobs to the chains and
 * their shares back to the connection whose job produced them.
 * Events: 'switch' (from id | undefined, to id | undefined, reason), 'share' (share, result), 'health' (entry).
 */
export class PoolManager extends EventEmitter implements Component {
  readonly name = 'pools';
  readonly pools: PoolEntry[] = [];
  current: PoolEntry | undefined;
  private nextId = 0;
  private readonly jobListeners: JobListener[] = [];
  private timer: NodeJS.Timeout | undefined;
  private rotatedAtMs = 0;
  private rrIndex = 0;
  private lbKey = '';
  private running = false;

  constructor(
    private settings: Config['pool'],
    pools: PoolConfig[],
    private readonly log: Logger,
    /** Saves the pool list (atomically) after a runtime change; absent in tests. */
    private readonly persist?: (pools: PoolConfig[], strategy: Config['pool']) => void,
  ) {
    super();
    for (const p of pools) this.createEntry(p);
  }

  get strategy(): Strategy {
    return this.settings.strategy;
  }

  get poolSettings(): Config['pool'] {
    return this.settings;
  }

  onJob(fn: JobListener): void {
    this.jobListeners.push(fn);
  }

  private createEntry(config: PoolConfig): PoolEntry {
    const id = this.nextId++;
    const log = this.log.child({ pool: id, url: config.url });
    const s = this.settings;
    const client = new StratumClient({
      poolId: String(id),
      url: config.url,
      user: config.user,
      password: config.password,
      userAgent: USER_AGENT,
      tlsCaFile: config.tls_ca_file || undefined,
      tlsInsecure: config.tls_insecure,
      versionRolling: s.version_rolling,
      versionMask: Number.parseInt(s.version_mask, 16) >>> 0,
      suggestDifficulty: config.suggest_difficulty || undefined,
      extranonceSubscribe: config.extranonce_subscribe,
      requestTimeoutMs: s.request_timeout_s * 1000,
      silenceTimeoutMs: s.silence_timeout_s * 1000,
      notifyTimeoutMs: Math.max(5000, (s.silence_timeout_s * 1000) / 10),
      log,
    });
    const entry: PoolEntry = {
      id,
      config,
      client,
      health: config.enabled ? 'dead' : 'disabled',
      aliveSinceMs: 0,
      consecutiveRejects: 0,
      stats: {
        accepted: 0,
        rejected: 0,
        stale: 0,
        lost: 0,
        acceptedDifficulty: 0,
        rejectedDifficulty: 0,
        staleDifficulty: 0,
        lostDifficulty: 0,
        lastShareMs: 0,
        lastLatencyMs: 0,
        bestShare: 0,
        recent: [],
        rejectReasons: {},
        getworks: 0,
      },
      started: false,
      lbHashes: 0,
    };
    client.on('ready', () => {
      if (entry.health === 'disabled') return;
      entry.health = 'alive';
      entry.aliveSinceMs = Date.now();
      entry.consecutiveRejects = 0;
      this.emit('health', entry);
      this.reselect('pool alive');
    });
    client.on('dead', (reason: string) => {
      if (entry.health === 'disabled') return;
      entry.health = 'dead';
      entry.aliveSinceMs = 0;
      this.emit('health', entry);
      this.reselect(`pool ${id} dead: ${reason}`);
    });
    client.on('job', (job: Job) => {
      entry.stats.getworks++;
      if (this.usesPool(entry)) for (const l of this.jobListeners) l(job, 'notify');
    });
    this.pools.push(entry);
    return entry;
  }

  /** Whether chains should take jobs from this pool now. */
  usesPool(e: PoolEntry): boolean {
    if (!usable(e)) return false;
    if (this.strategy === 'load-balance' || this.strategy === 'balance') return true;
    return this.current === e;
  }

  async start(): Promise<void> {
    this.running = true;
    this.rotatedAtMs = Date.now();
    this.ensureConnections();
    this.timer = setInterval(() => this.tick(), 1000);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.timer);
    await Promise.all(this.pools.map((p) => p.client.stop()));
  }

  /** Starts the connections the strategy needs: all with hot standby, else the current one (or all while none is). */
  private ensureConnections(): void {
    if (!this.running) return;
    const needAll =
      this.settings.hot_standby || !this.current || this.strategy === 'load-balance' || this.strategy === 'balance';
    for (const p of this.pools) {
      const want = p.health !== 'disabled' && (needAll || p === this.current);
      if (want && !p.started) {
        p.started = true;
        p.client.start();
      } else if (!want && p.started) {
        p.started = false;
        p.health = p.health === 'disabled' ? 'disabled' : 'dead';
        void p.client.stop();
      }
    }
  }

  private tick(): void {
    const now = Date.now();
    for (const p of this.pools) {
      while (p.stats.recent.length && p.stats.recent[0][0] < now - TEN_MIN_MS) p.stats.recent.shift();
    }
    if (this.strategy === 'rotate' && now >= this.rotatedAtMs + this.settings.rotate_period_min * 60_000) {
      this.rotatedAtMs = now;
      this.rrIndex++;
      this.reselect('rotate period');
      return;
    }
    // failover: a recovered higher-priority pool is taken back once alive for fallback_time
    this.reselect('periodic');
  }

  private views(): PoolView[] {
    return this.pools.map((p, index) => ({
      id: p.id,
      index,
      priority: p.config.priority,
      quota: p.config.quota,
      usable: usable(p),
      aliveForMs: p.health === 'alive' ? Date.now() - p.aliveSinceMs : -1,
      recentDifficulty: p.stats.recent.reduce((a, [, d]) => a + d, 0),
    }));
  }

  /** Re-evaluates the current pool; announces a switch with the new pool's job. */
  reselect(reason: string): void {
    const chosen = selectPool(this.strategy, this.views(), {
      currentId: this.current?.id,
      fallbackMs: this.settings.fallback_time_s * 1000,
      rotateIndex: this.rrIndex,
    });
    const next = chosen === undefined ? undefined : this.pools.find((p) => p.id === chosen);
    if (next !== this.current) {
      const from = this.current;
      this.current = next;
      if (next) this.rrIndex = this.pools.indexOf(next);
      this.log.info({ from: from?.id, to: next?.id, reason }, next ? `mining on pool ${next.id}` : 'no pool usable');
      this.emit('switch', from?.id, next?.id, reason);
      const job = next?.client.currentJob;
      // new pool: the chains take its work at once; results of the old pool's work still go to it while it lives
      if (job) for (const l of this.jobListeners) l(job, 'switch');
    }
    this.ensureConnections();
  }

  /** The job a chain should work on next (load balance and balance pick per call). */
  pickJob(): Job | undefined {
    if (this.strategy === 'load-balance') {
      const candidates = this.pools.filter((x) => usable(x) && x.client.currentJob);
      // a pool that comes back, or a new quota, starts everyone level: no pool catches up on time it was away
      const key = candidates.map((p) => `${p.id}:${p.config.quota}`).join(',');
      if (key !== this.lbKey) {
        this.lbKey = key;
        for (const p of this.pools) p.lbHashes = 0;
      }
      return leastServed(candidates)?.client.currentJob;
    }
    if (this.strategy === 'balance') {
      let best: PoolEntry | undefined;
      let bestD = Number.POSITIVE_INFINITY;
      for (const p of this.pools) {
        if (!usable(p) || !p.client.currentJob) continue;
        const d = p.stats.recent.reduce((a, [, x]) => a + x, 0);
        if (d < bestD) {
          bestD = d;
          best = p;
        }
      }
      return best?.client.currentJob;
    }
    return this.current && usable(this.current) ? this.current.client.currentJob : undefined;
  }

  /** Load balance: a chain verified `hashes` of work it did for this pool. */
  credit(poolId: string, hashes: number): void {
    if (this.strategy !== 'load-balance') return;
    const p = this.pools.find((x) => String(x.id) === poolId);
    if (p) p.lbHashes += hashes;
  }

  /** Sends a share to the pool whose job produced it; a share for a dead pool is counted lost with its reason. */
  submit(share: Share): void {
    const p = this.pools.find((x) => String(x.id) === share.poolId);
    if (!p) return;
    const st = p.stats;
    if (p.client.state !== 'ready') {
      st.lost++;
      st.lostDifficulty += share.targetDifficulty;
      this.log.warn(
        { pool: p.id, job: share.jobId, reason: p.client.lastError || p.client.state },
        'share lost: its pool is not connected',
      );
      this.emit('share', share, { accepted: false, lost: true, reason: 'pool not connected' });
      return;
    }
    st.bestShare = Math.max(st.bestShare, share.difficulty);
    p.client.submit(share).then(
      (r) => {
        st.lastShareMs = Date.now();
        st.lastLatencyMs = r.latencyMs;
        if (r.accepted) {
          st.accepted++;
          st.acceptedDifficulty += share.targetDifficulty;
          st.recent.push([Date.now(), share.targetDifficulty]);
          if (p.health === 'rejecting') {
            p.health = 'alive';
            this.emit('health', p);
            this.reselect('pool accepts again');
          }
          p.consecutiveRejects = 0;
        } else {
          const reason = r.reason ?? 'rejected';
          if (/stale|job not found/i.test(reason)) {
            st.stale++;
            st.staleDifficulty += share.targetDifficulty;
          } else {
            st.rejected++;
            st.rejectedDifficulty += share.targetDifficulty;
          }
          st.rejectReasons[reason] = (st.rejectReasons[reason] ?? 0) + 1;
          p.consecutiveRejects++;
          this.log.info({ pool: p.id, reason, job: share.jobId }, 'share rejected');
          if (p.consecutiveRejects >= this.settings.reject_limit && p.health === 'alive') {
            p.health = 'rejecting';
            this.emit('health', p);
            this.reselect(`pool ${p.id} rejected ${p.consecutiveRejects} shares in a row`);
          }
        }
        this.emit('share', share, r);
      },
      (err: unknown) => {
        st.lost++;
        st.lostDifficulty += share.targetDifficulty;
        const reason = err instanceof Error ? err.message : String(err);
        this.log.warn({ pool: p.id, job: share.jobId, reason }, 'share lost');
        this.emit('share', share, { accepted: false, lost: true, reason });
        if (err instanceof StratumError && err.code === 'ETIMEOUT') p.client.restart('submit timed out');
      },
    );
  }

  // ---- runtime operations (API, cgminer API) -----------------------------------------------------------------

  private save(): void {
    this.persist?.(
      this.pools.map((p) => p.config),
      this.settings,
    );
  }

  find(id: number): PoolEntry {
    const p = this.pools.find((x) => x.id === id);
    if (!p) throw new PoolOpError('ENOPOOL', `no pool ${id}`);
    return p;
  }

  add(config: PoolConfig): PoolEntry {
    if (this.pools.length >= 16) throw new PoolOpError('ELIMIT', 'at most 16 pools');
    const e = this.createEntry(config);
    this.save();
    this.ensureConnections();
    this.reselect('pool added');
    return e;
  }

  async remove(id: number): Promise<void> {
    const p = this.find(id);
    if (this.pools.length === 1) throw new PoolOpError('ELAST', 'cannot remove the last pool');
    this.pools.splice(this.pools.indexOf(p), 1);
    await p.client.stop();
    this.save();
    this.reselect(`pool ${id} removed`);
  }

  enable(id: number): void {
    const p = this.find(id);
    if (p.health !== 'disabled') return;
    p.config = { ...p.config, enabled: true };
    p.health = 'dead';
    this.save();
    this.ensureConnections();
    this.reselect(`pool ${id} enabled`);
  }

  disable(id: number): void {
    const p = this.find(id);
    p.config = { ...p.config, enabled: false };
    p.health = 'disabled';
    if (p.started) {
      p.started = false;
      void p.client.stop();
    }
    this.save();
    this.reselect(`pool ${id} disabled`);
  }

  setPriority(id: number, priority: number): void {
    if (!Number.isInteger(priority) || priority < 0 || priority > 999) {
      throw new PoolOpError('ERANGE', 'priority must be a whole number 0–999');
    }
    const p = this.find(id);
    p.config = { ...p.config, priority };
    this.save();
    this.reselect(`pool ${id} priority ${priority}`);
  }

  setQuota(id: number, quota: number): void {
    if (!Number.isInteger(quota) || quota < 0 || quota > 1_000_000) {
      throw new PoolOpError('ERANGE', 'quota must be a whole number 0–1000000');
    }
    const p = this.find(id);
    p.config = { ...p.config, quota };
    this.save();
  }

  /** Mine on this pool now: it becomes the highest priority (cgminer's switchpool). */
  switchTo(id: number): void {
    const p = this.find(id);
    if (p.health === 'disabled') throw new PoolOpError('EDISABLED', `pool ${id} is disabled`);
    const top = Math.min(...this.pools.map((x) => x.config.priority));
    for (const x of this.pools)
      if (x !== p && x.config.priority <= top) x.config = { ...x.config, priority: x.config.priority + 1 };
    p.config = { ...p.config, priority: top };
    // an operator's switch is immediate: no fallback wait
    p.aliveSinceMs = p.health === 'alive' ? Date.now() - this.settings.fallback_time_s * 1000 : p.aliveSinceMs;
    this.save();
    this.reselect(`switched to pool ${id}`);
  }

  /** SIGHUP: strategy settings apply live; a changed pool list or connection setting needs a restart. */
  reload(next: Config, changed: string[]): string[] {
    const live = [
      'pool.strategy',
      'pool.fallback_time_s',
      'pool.rotate_period_min',
      'pool.hot_standby',
      'pool.reject_limit',
    ];
    const taken = changed.filter((k) => live.includes(k));
    if (taken.length) {
      this.settings = {
        ...this.settings,
        ...Object.fromEntries(taken.map((k) => [k.slice(5), next.pool[k.slice(5) as keyof Config['pool']]])),
      };
      this.reselect('configuration reloaded');
    }
    return taken;
  }

  setStrategy(settings: Config['pool']): void {
    this.settings = settings;
    this.save();
    this.reselect('strategy changed');
  }
}

export class PoolOpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function usable(p: PoolEntry): boolean {
  return p.health === 'alive' && p.client.state === 'ready';
}
