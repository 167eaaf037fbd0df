import { EventEmitter } from 'node:events';
import type { Config, PoolConfig } from '../../config/schema.js';
import type { Component } from '../../util/lifecycle.js';
import type { Logger } from '../../util/log.js';
import { LimitedLog } from '../../util/log-limit.js';
import { USER_AGENT } from '../../version.js';
import { StratumClient, StratumError } from '../stratum/client.js';
import type { Job, Share } from '../work/work.js';
import { ShareYield, type YieldVerdict } from './share-yield.js';
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
  /** it left shares unanswered (a black hole): not used before this time */
  shunnedUntilMs: number;
  /** black holes in a row (the shunning doubles with each; an accepted share ends the run) */
  blackHoles: number;
  rejectingSinceMs: number;
  /** when a rejecting pool is re-tested */
  retestAtMs: number;
  /**
   * times in a row it was found rejecting: the wait before each re-test doubles with them (up to 10 minutes), so a
   * pool that refuses a share of the work is not handed the work again every fallback_time_s; ten minutes without
   * being found rejecting after it came back end the run
   */
  rejectingRuns: number;
  /** when it last came back from rejecting (re-tested, or a share accepted) */
  backAtMs: number;
  /** re-tested after being rejecting: a few rejects send it back at once */
  probation: boolean;
  /** it failed at least once since the start (the start-up grace stops waiting for it) */
  failedOnce: boolean;
  /** the connection lineage whose work the chains hold for this pool (see StratumSession.lineage) */
  chainLineage: number | undefined;
  /** accepted shares against those the work done for it should have produced (last 10 minutes) */
  shareYield: ShareYield;
  /** shares submitted and not yet answered */
  pending: number;
  /** why the pool is rejecting: shares rejected in a row, or too few accepted for the work done */
  rejectingReason: string;
  /** rejecting for its yield: an accepted share of older work does not end that, only the re-test does */
  rejectingByYield: boolean;
}

/** 'notify': the pool sent a job; 'switch': the chains should move to this pool's job now. */
export type JobListener = (job: Job, why: 'notify' | 'switch') => void;

const TEN_MIN_MS = 600_000;
const SHUN_FIRST_MS = 30_000;
const SHUN_MAX_MS = 600_000;
/** Rejects in a row that end a re-test of a pool that was rejecting. */
const PROBATION_REJECTS = 3;

/**
 * Which pool mines now. Owns the pool connections, their health and share statistics; hands jobs to the chains and
 * their shares back to the connection whose job produced them.
 * Events: 'switch' (from id | undefined, to id | undefined, reason), 'share' (share, result), 'health' (entry).
 */
/** Added to the priority of a pool that refused version rolling when pools granting it are preferred. */
const NO_ROLLING_PENALTY = 1_000_000;

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
  private startedAtMs = 0;
  private noWorkSinceMs = 0;
  /** no pool usable for pool.no_work_idle_s: the boards were told to idle (a pool back resumes them at once) */
  noWork = false;
  private hashrateHs: () => number = () => 0;
  private readonly logs: { lost: LimitedLog; rejected: LimitedLog };

  constructor(
    private settings: Config['pool'],
    pools: PoolConfig[],
    private readonly log: Logger,
    /** Saves the pool list (atomically) after a runtime change; absent in tests. */
    private readonly persist?: (pools: PoolConfig[], strategy: Config['pool']) => void,
  ) {
    super();
    this.logs = {
      lost: new LimitedLog(log, 'warn', 'share lost'),
      rejected: new LimitedLog(log, 'info', 'share rejected'),
    };
    for (const p of pools) this.createEntry(p);
  }

  /** The hash rate the boards can make now, for the difficulty floor (the miner wires it to the chains). */
  setHashrateSource(fn: () => number): void {
    this.hashrateHs = fn;
  }

  /** The lowest share difficulty worth mining: above it the share rate stays under pool.max_shares_per_s. */
  difficultyFloor(): number {
    const hs = this.hashrateHs();
    return hs > 0 ? hs / (2 ** 32 * this.settings.max_shares_per_s) : 0;
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
      poolId: id,
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
      submitTimeoutMs: Math.min(s.request_timeout_s, s.submit_timeout_s) * 1000,
      difficultyFloor: () => this.difficultyFloor(),
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
      shunnedUntilMs: 0,
      blackHoles: 0,
      rejectingSinceMs: 0,
      retestAtMs: 0,
      rejectingRuns: 0,
      backAtMs: 0,
      probation: false,
      failedOnce: false,
      chainLineage: undefined,
      shareYield: new ShareYield(),
      pending: 0,
      rejectingReason: '',
      rejectingByYield: false,
    };
    client.on('ready', () => {
      if (entry.health === 'disabled') return;
      entry.consecutiveRejects = 0;
      entry.probation = false;
      // a shunned pool stays dead until its time is up, connected or not (tick brings it back)
      if (Date.now() < entry.shunnedUntilMs) return;
      entry.health = 'alive';
      entry.aliveSinceMs = Date.now();
      this.emit('health', entry);
      this.reselect('pool alive');
    });
    // any way out of ready (a failure, client.reconnect with a wait, a restart) makes the pool dead at once
    client.on('state', (state: string, reason: string) => {
      if (state === 'ready' || (entry.health !== 'alive' && entry.health !== 'rejecting')) return;
      entry.health = 'dead';
      entry.aliveSinceMs = 0;
      this.emit('health', entry);
      this.reselect(`pool ${id} ${state}: ${reason}`);
    });
    client.on('dead', () => {
      entry.failedOnce = true;
    });
    client.on('job', (job: Job) => {
      entry.stats.getworks++;
      if (this.usesPool(entry)) this.forward(entry, job, 'notify');
    });
    this.pools.push(entry);
    return entry;
  }

  /** Whether chains should take jobs from this pool now. */
  usesPool(e: PoolEntry): boolean {
    if (!this.isUsable(e)) return false;
    if (this.strategy === 'load-balance' || this.strategy === 'balance') return true;
    return this.current === e;
  }

  /**
   * Hands a pool's job to the chains. The first job of a new connection lineage first has the chains drop what they
   * still hold of the pool's ended session: that work was made with an extranonce1 the pool no longer knows.
   */
  private forward(p: PoolEntry, job: Job, why: 'notify' | 'switch'): void {
    if (p.chainLineage !== undefined && job.lineage !== p.chainLineage && !(why === 'notify' && job.cleanJobs)) {
      // a marker: the chains stale this pool's older work on a clean job and then pick their next job themselves
      const marker: Job = { ...job, cleanJobs: true };
      for (const l of this.jobListeners) l(marker, 'notify');
    }
    p.chainLineage = job.lineage;
    for (const l of this.jobListeners) l(job, why);
  }

  async start(): Promise<void> {
    this.running = true;
    this.startedAtMs = Date.now();
    this.noWorkSinceMs = this.startedAtMs;
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
    const floor = this.difficultyFloor();
    for (const p of this.pools) {
      while (p.stats.recent.length && p.stats.recent[0][0] < now - TEN_MIN_MS) p.stats.recent.shift();
      if (p.health === 'dead' && p.shunnedUntilMs > 0 && now >= p.shunnedUntilMs && p.client.state === 'ready') {
        p.shunnedUntilMs = 0;
        p.health = 'alive';
        p.aliveSinceMs = now;
        this.log.info({ pool: p.id }, 'pool no longer shunned; trying it again');
        this.emit('health', p);
      }
      // nothing is mined on a rejecting pool, so no accepted share would ever clear it: re-test it after a while
      if (p.health === 'rejecting' && now >= p.retestAtMs) {
        p.health = 'alive';
        p.backAtMs = now;
        p.probation = true;
        p.consecutiveRejects = 0;
        p.shareYield.reset();
        p.aliveSinceMs = now - this.settings.fallback_time_s * 1000;
        this.log.info({ pool: p.id }, 'pool was rejecting; re-testing it');
        this.emit('health', p);
      }
      if (p.health === 'alive') this.judgeYield(p, now);
      if (p.rejectingRuns > 0 && p.health === 'alive' && now - p.backAtMs >= TEN_MIN_MS) p.rejectingRuns = 0;
      // the floor rose (boards came up) after this job came: mine it at the floor
      const job = p.client.currentJob;
      if (job && job.difficulty < floor / 2) p.client.refloor();
    }
    if (
      !this.current &&
      !this.noWork &&
      this.noWorkSinceMs > 0 &&
      now - this.noWorkSinceMs >= this.settings.no_work_idle_s * 1000
    ) {
      this.noWork = true;
      this.log.warn({ forS: Math.round((now - this.noWorkSinceMs) / 1000) }, 'no usable pool: boards idle');
      this.emit('work', false);
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

  /**
   * Health by outcome: a pool that accepts far fewer shares than the work done for it should have produced (it
   * rejects some, never `reject_limit` in a row) is rejecting, as if it rejected them all.
   */
  private judgeYield(p: PoolEntry, now: number): void {
    const v = p.shareYield.verdict(p.pending, now);
    if (!v.short) return;
    this.markRejecting(
      p,
      `accepted ${v.accepted} of ${v.expected.toFixed(1)} shares expected from the work done for it`,
      now,
      true,
    );
  }

  private markRejecting(p: PoolEntry, reason: string, now: number, byYield = false): void {
    p.health = 'rejecting';
    p.rejectingSinceMs = now;
    p.rejectingRuns++;
    const retestMs = Math.min(SHUN_MAX_MS, this.retestMs() * 2 ** Math.min(p.rejectingRuns - 1, 10));
    p.retestAtMs = now + Math.max(retestMs, this.retestMs());
    p.rejectingReason = reason;
    p.rejectingByYield = byYield;
    p.probation = false;
    this.log.warn({ pool: p.id, retestS: (p.retestAtMs - now) / 1000 }, `pool ${p.id} is rejecting: ${reason}`);
    this.emit('health', p);
    this.reselect(`pool ${p.id} ${reason}`);
  }

  /** The pool's share yield now (for the API). */
  shareYield(p: PoolEntry): YieldVerdict {
    return p.shareYield.verdict(p.pending);
  }

  /**
   * Whether work may come from this pool: an alive, connected pool that is not shunned; or, while there is none, a
   * connected pool judged short by its yield. It still pays for most of its shares, and idling the boards would pay
   * for none.
   */
  private isUsable(p: PoolEntry): boolean {
    if (usable(p)) return true;
    return (
      p.health === 'rejecting' &&
      p.rejectingByYield &&
      p.client.state === 'ready' &&
      Date.now() >= p.shunnedUntilMs &&
      !this.pools.some(usable)
    );
  }

  /** A rejecting pool is first tried again after fallback_time_s (at least a second). */
  private retestMs(): number {
    return Math.max(1, this.settings.fallback_time_s) * 1000;
  }

  private views(): PoolView[] {
    return this.pools.map((p, index) => ({
      id: p.id,
      index,
      priority: p.config.priority + (this.demoted(p) ? NO_ROLLING_PENALTY : 0),
      quota: p.config.quota,
      usable: this.isUsable(p),
      aliveForMs: p.health === 'alive' ? Date.now() - p.aliveSinceMs : -1,
      recentDifficulty: p.stats.recent.reduce((a, [, d]) => a + d, 0),
    }));
  }

  /** prefer_version_rolling: a pool that answered mining.configure without a mask ranks after those that grant one. */
  private demoted(p: PoolEntry): boolean {
    const s = this.settings;
    return s.prefer_version_rolling && s.version_rolling && p.client.state === 'ready' && p.client.versionMask === 0;
  }

  /** Re-evaluates the current pool; announces a switch with the new pool's job. */
  reselect(reason: string): void {
    const chosen = selectPool(this.strategy, this.views(), {
      currentId: this.current?.id,
      fallbackMs: this.settings.fallback_time_s * 1000,
      rotateIndex: this.rrIndex,
    });
    let next = chosen === undefined ? undefined : this.pools.find((p) => p.id === chosen);
    if (next && !this.current && this.inStartupGrace(next)) next = undefined;
    if (next !== this.current) {
      const from = this.current;
      this.current = next;
      if (next) this.rrIndex = this.pools.indexOf(next);
      this.log.info({ from: from?.id, to: next?.id, reason }, next ? `mining on pool ${next.id}` : 'no pool usable');
      this.emit('switch', from?.id, next?.id, reason);
      const job = next?.client.currentJob;
      // new pool: the chains take its work at once; results of the old pool's work still go to it while it lives
      if (next && job) this.forward(next, job, 'switch');
    }
    if (this.current) {
      this.noWorkSinceMs = 0;
      if (this.noWork) {
        this.noWork = false;
        this.log.info({ pool: this.current.id }, 'a pool is usable again: boards resume');
        this.emit('work', true);
      }
    } else if (this.noWorkSinceMs === 0) {
      this.noWorkSinceMs = Date.now();
    }
    this.ensureConnections();
  }

  /**
   * Failover at start: all pools connect at once and the first to answer would win. For startup_grace_s a pool
   * waits while one of higher priority is still connecting and has not failed yet.
   */
  private inStartupGrace(candidate: PoolEntry): boolean {
    if (this.strategy !== 'failover' || Date.now() >= this.startedAtMs + this.settings.startup_grace_s * 1000) {
      return false;
    }
    const rank = (p: PoolEntry) => [p.config.priority, this.pools.indexOf(p)];
    const [cp, ci] = rank(candidate);
    return this.pools.some((p) => {
      const [pp, pi] = rank(p);
      const better = pp < cp || (pp === cp && pi < ci);
      return better && p.health !== 'disabled' && !p.failedOnce && !usable(p);
    });
  }

  /** The job a chain should work on next (load balance and balance pick per call). */
  pickJob(): Job | undefined {
    if (this.strategy === 'load-balance') {
      const candidates = this.pools.filter((x) => this.isUsable(x) && x.client.currentJob);
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
        if (!this.isUsable(p) || !p.client.currentJob) continue;
        const d = p.stats.recent.reduce((a, [, x]) => a + x, 0);
        if (d < bestD) {
          bestD = d;
          best = p;
        }
      }
      return best?.client.currentJob;
    }
    return this.current && this.isUsable(this.current) ? this.current.client.currentJob : undefined;
  }

  /** A chain verified `hashes` of work it did on this job. */
  credit(job: Job, hashes: number): void {
    const p = this.pools.find((x) => x.id === job.poolId);
    if (!p) return;
    // the yield counts work whose shares the pool could get: a job of the live session (shares of an ended one are
    // lost whatever the pool does)
    if (job.lineage !== undefined && job.lineage === p.client.lineage) p.shareYield.addWork(hashes, job.difficulty);
    if (this.strategy === 'load-balance') p.lbHashes += hashes;
  }

  /** Sends a share to the pool whose job produced it; a share for a dead pool is counted lost with its reason. */
  submit(share: Share): void {
    const p = this.pools.find((x) => x.id === share.poolId);
    if (!p) return;
    const st = p.stats;
    // work of an ended session (the chains have not had the new session's first job yet) is never sent on
    const ended = p.chainLineage !== undefined && p.chainLineage !== p.client.lineage;
    if (p.client.state !== 'ready' || ended || !p.client.hasJob(share.jobId)) {
      const reason = p.client.state !== 'ready' ? 'pool not connected' : 'its job came on an earlier connection';
      this.lose(p, share, reason);
      return;
    }
    st.bestShare = Math.max(st.bestShare, share.difficulty);
    p.pending++;
    p.client.submit(share).then(
      (r) => {
        p.pending--;
        st.lastShareMs = Date.now();
        st.lastLatencyMs = r.latencyMs;
        if (r.accepted) {
          st.accepted++;
          st.acceptedDifficulty += share.targetDifficulty;
          st.recent.push([Date.now(), share.targetDifficulty]);
          p.shareYield.addAccepted();
          if (p.health === 'rejecting' && !p.rejectingByYield) {
            p.health = 'alive';
            p.backAtMs = Date.now();
            this.emit('health', p);
            this.reselect('pool accepts again');
          }
          p.consecutiveRejects = 0;
          p.probation = false;
          p.blackHoles = 0;
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
          this.logs.rejected.hit({ pool: p.id, reason: reason.slice(0, 200), job: share.jobId.slice(0, 64) });
          // below a difficulty the pool announced after the share's job: it enforces set_difficulty at once rather
          // than from its next job. The share is no sign of a bad pool; the job is mined at that difficulty from now
          if (share.difficulty < p.client.difficulty && share.targetDifficulty < p.client.difficulty) {
            p.shareYield.addUnjudged();
            p.client.applyDifficulty();
          } else if (share.lineage !== undefined && share.lineage !== p.client.lineage) {
            // sent before the pool replaced our extranonce1 (set_extranonce) and refused after: a race the pool
            // started and no miner can win, held against neither reject_limit nor the yield
            p.shareYield.addUnjudged();
          } else {
            p.consecutiveRejects++;
            const limit = p.probation
              ? Math.min(PROBATION_REJECTS, this.settings.reject_limit)
              : this.settings.reject_limit;
            if (p.consecutiveRejects >= limit && p.health === 'alive') {
              this.markRejecting(p, `rejected ${p.consecutiveRejects} shares in a row`, Date.now());
            }
          }
        }
        this.emit('share', share, r);
      },
      (err: unknown) => {
        p.pending--;
        // no answer at all: the connection failed or the pool swallowed it, which dead and black hole judge; the
        // yield judges answers, so this share is not held against a pool that is back after a blip
        p.shareYield.addUnjudged();
        this.lose(p, share, err instanceof Error ? err.message : String(err));
        if (err instanceof StratumError && err.code === 'ETIMEOUT') this.blackHole(p);
      },
    );
  }

  private lose(p: PoolEntry, share: Share, reason: string): void {
    p.stats.lost++;
    p.stats.lostDifficulty += share.targetDifficulty;
    this.logs.lost.hit({ pool: p.id, job: share.jobId.slice(0, 64), reason });
    this.emit('share', share, { accepted: false, lost: true, reason });
  }

  /**
   * A share went unanswered: the pool takes work and gives nothing back. It is shunned (dead, not used) for 30 s,
   * doubling up to 10 min while it keeps doing so, and its connection starts over.
   */
  private blackHole(p: PoolEntry): void {
    const now = Date.now();
    if (now < p.shunnedUntilMs) return;
    p.blackHoles++;
    const holdMs = Math.min(SHUN_MAX_MS, SHUN_FIRST_MS * 2 ** Math.min(p.blackHoles - 1, 10));
    p.shunnedUntilMs = now + holdMs;
    p.failedOnce = true;
    this.log.warn({ pool: p.id, shunnedS: holdMs / 1000 }, 'pool leaves shares unanswered; using the others');
    p.client.restart('submit unanswered');
    if (p.health === 'alive' || p.health === 'rejecting') {
      p.health = 'dead';
      p.aliveSinceMs = 0;
      this.emit('health', p);
      this.reselect(`pool ${p.id} leaves shares unanswered`);
    }
  }

  /**
   * Every connection starts over (operator restart). The start-up grace applies again, so the pools' answering order
   * does not move mining off the highest-priority pool.
   */
  restartConnections(reason: string): void {
    this.startedAtMs = Date.now();
    for (const p of this.pools) if (p.started) p.client.restart(reason);
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
    if (p.health !== 'disabled' && !this.pools.some((x) => x !== p && x.health !== 'disabled')) {
      // as cgminer: with no pool left the boards would idle; an operator means to switch pools, not to stop mining
      throw new PoolOpError('ELAST', 'Cannot disable last active pool');
    }
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
      'pool.max_shares_per_s',
      'pool.no_work_idle_s',
      'pool.startup_grace_s',
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
  return p.health === 'alive' && p.client.state === 'ready' && Date.now() >= p.shunnedUntilMs;
}
