import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { LineSplitter } from '../../util/lines.js';
import type { Logger } from '../../util/log.js';
import { LimitedLog } from '../../util/log-limit.js';
import type { Job, Share } from '../work/work.js';
import {
  checkDifficulty,
  checkExtranonce,
  checkNotify,
  checkVersionMask,
  type NotifyParams,
  type Parsed,
  parseLine,
  type RpcRequest,
  type RpcResponse,
  rejectReason,
} from './messages.js';
import { StratumSession } from './session.js';

/** A line that is a mining.notify (coinbase and branch hex hold no quotes, so this is not fooled by params). */
const NOTIFY_LINE = /"method"\s*:\s*"mining\.notify"/;

/** A connection that stayed up this long was healthy: the reconnect backoff starts afresh after it. */
const STABLE_SESSION_MS = 30_000;

export interface StratumOptions {
  poolId: number;
  url: string;
  user: string;
  password: string;
  userAgent: string;
  tlsCaFile?: string;
  tlsInsecure?: boolean;
  versionRolling: boolean;
  versionMask: number;
  suggestDifficulty?: number;
  extranonceSubscribe?: boolean;
  requestTimeoutMs: number;
  /** mining.submit unanswered this long: the pool swallows shares (default: requestTimeoutMs). */
  submitTimeoutMs?: number;
  /** The lowest share difficulty worth mining now (from the hash rate): a pool asking for less is mined at this. */
  difficultyFloor?: () => number;
  /**
   * Jobs are handed on at most once per this interval (default 100 ms), doubling up to 8 times as long while notifies
   * keep coming faster; in between only the newest is kept.
   */
  coalesceMs?: number;
  /** No line from the pool for this long: the connection is dead. */
  silenceTimeoutMs: number;
  /** No mining.notify this long after authorize: the connection is dead. */
  notifyTimeoutMs: number;
  maxLineBytes?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Follow client.reconnect to another host (off: same host only). */
  allowRedirect?: boolean;
  log: Logger;
}

export type StratumState = 'idle' | 'connecting' | 'handshake' | 'ready' | 'disconnected' | 'stopped';

export interface SubmitResult {
  accepted: boolean;
  reason?: string;
  latencyMs: number;
}

export interface StratumCounters {
  connects: number;
  disconnects: number;
  linesIn: number;
  /** lines written to the pool, and bytes each way (cgminer's Times Sent, Bytes Sent, Bytes Recv) */
  linesOut: number;
  bytesSent: number;
  bytesRecv: number;
  invalidLines: number;
  invalidMessages: number;
  unknownMethods: number;
  oversizedLines: number;
  jobs: number;
  /** jobs replaced by a newer one before they were handed on (notify floods); a replaced line is never parsed */
  jobsCoalesced: number;
  /** jobs mined at the difficulty floor because the pool asked for less */
  difficultyFloored: number;
  /** lines that arrived after their connection had failed, dropped */
  linesAfterEnd: number;
  accepted: number;
  rejected: number;
  submitTimeouts: number;
  acceptedDifficulty: number;
  rejectedDifficulty: number;
}

export class StratumError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function parsePoolUrl(url: string): { host: string; port: number; secure: boolean } {
  const m = /^stratum\+(tcp|ssl|tls):\/\/([^\s/:]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})\/?$/.exec(url);
  if (!m) throw new StratumError('EURL', `${url}: expected stratum+tcp:// or stratum+ssl://host:port`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new StratumError('EURL', `${url}: port must be 1–65535`);
  return { host: m[2].replace(/^\[|\]$/g, ''), port, secure: m[1] !== 'tcp' };
}

/**
 * One Stratum v1 connection, kept alive by itself: connect, configure, subscribe (resuming the session when the pool
 * allows), authorize, then jobs in and shares out. Reconnects with capped exponential backoff and jitter.
 * Events: 'state' (StratumState, reason), 'job' (Job), 'difficulty' (number), 'ready', 'dead' (reason).
 */
export class StratumClient extends EventEmitter {
  readonly counters: StratumCounters = {
    connects: 0,
    disconnects: 0,
    linesIn: 0,
    linesOut: 0,
    bytesSent: 0,
    bytesRecv: 0,
    invalidLines: 0,
    invalidMessages: 0,
    unknownMethods: 0,
    oversizedLines: 0,
    jobs: 0,
    jobsCoalesced: 0,
    difficultyFloored: 0,
    linesAfterEnd: 0,
    accepted: 0,
    rejected: 0,
    submitTimeouts: 0,
    acceptedDifficulty: 0,
    rejectedDifficulty: 0,
  };
  state: StratumState = 'idle';
  lastError = '';
  /** Share difficulty the pool asked for last (jobs may be mined at the floor above it). */
  difficulty = 1;
  versionMask = 0;
  sessionId: string | undefined;
  lastShareLatencyMs = 0;
  connectedAtMs = 0;
  /** When the next connection attempt is due (0: none scheduled). */
  reconnectAtMs = 0;

  private session: StratumSession | undefined;
  /** the session that ended last, kept until the next subscribe in case the pool lets us resume it */
  private lastSession: StratumSession | undefined;
  private sessionSeq = 0;
  private nextId = 1;
  private silenceTimer: NodeJS.Timeout | undefined;
  private lastLineAtMs = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private coalesceTimer: NodeJS.Timeout | undefined;
  /**
   * the job waiting out the coalescing interval: parsed, or (replacing one that was) its line, parsed at flush; or the
   * current job re-made (a new extranonce or difficulty), already current and only to be announced
   */
  private pendingNotify:
    | { session: StratumSession; v?: NotifyParams; line?: string; remade?: boolean; clean: boolean }
    | undefined;
  private lastJobEmitMs = 0;
  /** the interval now: longer while notifies flood in, so the chips finish some work before it is stale */
  private coalesceNowMs = 0;
  private coalescedInWindow = 0;
  private attempt = 0;
  private host: string;
  private port: number;
  private readonly secure: boolean;
  private readonly log: Logger;
  private stopped = false;
  private readonly logs: Record<
    'invalidLine' | 'invalidMessage' | 'orphanResponse' | 'unknownMethod' | 'oversized' | 'connectFailed' | 'floored',
    LimitedLog
  >;

  constructor(private readonly opts: StratumOptions) {
    super();
    const u = parsePoolUrl(opts.url);
    this.host = u.host;
    this.port = u.port;
    this.secure = u.secure;
    this.log = opts.log;
    const l = this.log;
    this.logs = {
      invalidLine: new LimitedLog(l, 'warn', 'ignored an invalid line from the pool'),
      invalidMessage: new LimitedLog(l, 'warn', 'ignored an invalid message from the pool'),
      orphanResponse: new LimitedLog(l, 'warn', 'response to no request of ours'),
      unknownMethod: new LimitedLog(l, 'warn', 'unknown method from the pool'),
      oversized: new LimitedLog(l, 'warn', 'pool sent a line over the limit; reconnecting'),
      connectFailed: new LimitedLog(l, 'warn', 'pool connection failed'),
      floored: new LimitedLog(l, 'warn', 'pool asked for a share difficulty below the floor; mining at the floor', 1),
    };
  }

  get endpoint(): string {
    return `${this.host}:${this.port}`;
  }

  /** The newest job of the live session (none between sessions: a dead session's work is never handed out). */
  get currentJob(): Job | undefined {
    return this.session?.alive ? this.session.currentJob : undefined;
  }

  get extranonce1(): Buffer {
    return (this.session ?? this.lastSession)?.extranonce1 ?? Buffer.alloc(0);
  }

  get extranonce2Size(): number {
    return (this.session ?? this.lastSession)?.extranonce2Size ?? 4;
  }

  /** The lineage of the live session (see StratumSession.lineage); undefined while disconnected. */
  get lineage(): number | undefined {
    return this.session?.alive && this.state === 'ready' ? this.session.lineage : undefined;
  }

  /** Whether a job of this id came on the live session. */
  hasJob(jobId: string): boolean {
    return this.session?.alive === true && this.session.job(jobId) !== undefined;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectAtMs = 0;
    this.teardown('stopped');
    this.setState('stopped', 'stopped');
  }

  /** Drops the connection now and reconnects (used after a failed health check by the owner). */
  restart(reason: string): void {
    this.teardown(reason);
    this.scheduleReconnect(0);
  }

  /**
   * The difficulty floor rose above the current job's difficulty (the hash rate became known after the job came):
   * the job is handed out again at the floor.
   */
  refloor(): void {
    const floor = this.opts.difficultyFloor?.() ?? 0;
    if (this.reissue(floor)) {
      this.counters.difficultyFloored++;
      this.logs.floored.hit({ asked: this.difficulty, floor });
    }
  }

  /**
   * The pool refused a share for a difficulty it announced after the share's job (it enforces set_difficulty at once,
   * where Stratum has it apply from the next job): the current job is handed out again at that difficulty, as cgminer
   * mines it, rather than sending shares the pool refuses until its next notify. Returns whether it was.
   */
  applyDifficulty(): boolean {
    return this.reissue(Math.max(this.difficulty, this.opts.difficultyFloor?.() ?? 0));
  }

  /** The current job again at a higher difficulty; its ntime moves on a second so no header repeats work done. */
  private reissue(difficulty: number): boolean {
    const s = this.session;
    const job = this.currentJob;
    if (!s || !job || this.state !== 'ready' || !(job.difficulty < difficulty)) return false;
    const next: Job = {
      ...job,
      difficulty,
      ntime: (job.ntime + 1) >>> 0,
      cleanJobs: true,
      receivedAtMs: Date.now(),
    };
    const known = s.job(job.jobId);
    s.remember(job.jobId, next, known?.key ?? '');
    this.replaceCurrent(s, next);
    return true;
  }

  /**
   * The current job re-made (a new extranonce or difficulty): current at once, for the next work the chains take, and
   * announced as a notify is, so a flood of what makes it costs no rebuild of every board's work per line.
   */
  private replaceCurrent(session: StratumSession, job: Job): void {
    session.currentJob = job;
    if (this.state !== 'ready') return;
    // a notify waiting its turn is newer still, and is made under what changed when it goes out
    if (this.pendingNotify?.session === session && !this.pendingNotify.remade) return;
    this.offer({ session, remade: true, clean: true });
  }

  private setState(s: StratumState, reason = ''): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s, reason);
  }

  private connect(): void {
    if (this.stopped) return;
    this.reconnectAtMs = 0;
    this.setState('connecting');
    let sock: net.Socket;
    if (this.secure) {
      sock = tls.connect({
        host: this.host,
        port: this.port,
        servername: net.isIP(this.host) ? undefined : this.host,
        ca: this.opts.tlsCaFile ? readFileSync(this.opts.tlsCaFile) : undefined,
        rejectUnauthorized: !this.opts.tlsInsecure,
      });
    } else {
      sock = net.connect({ host: this.host, port: this.port });
    }
    const session = new StratumSession(++this.sessionSeq, sock);
    this.session = session;
    sock.once(this.secure ? 'secureConnect' : 'connect', () => {
      this.counters.connects++;
      this.connectedAtMs = Date.now();
      void this.handshake(session);
    });
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 15000);
    const splitter = new LineSplitter(
      this.opts.maxLineBytes ?? 65536,
      (line) => this.onLine(session, line),
      (bytes) => {
        if (!session.alive) return;
        this.counters.oversizedLines++;
        this.logs.oversized.hit({ bytes });
        this.fail(session, `line of ${bytes} bytes over the limit`);
      },
    );
    sock.on('data', (d: Buffer) => {
      this.counters.bytesRecv += d.length;
      if (session.alive) splitter.push(d);
    });
    sock.on('error', (err) => this.fail(session, `${(err as NodeJS.ErrnoException).code ?? 'error'}: ${err.message}`));
    sock.on('close', () => this.fail(session, 'connection closed by pool'));
    this.lastLineAtMs = Date.now();
    this.watchSilence(session, this.opts.silenceTimeoutMs);
  }

  private async handshake(session: StratumSession): Promise<void> {
    this.setState('handshake');
    try {
      if (this.opts.versionRolling) {
        const mask = this.opts.versionMask.toString(16).padStart(8, '0');
        try {
          const r = await this.request('mining.configure', [
            ['version-rolling'],
            { 'version-rolling.mask': mask, 'version-rolling.min-bit-count': 2 },
          ]);
          const res = r.result as Record<string, unknown> | null;
          if (res && res['version-rolling'] === true) {
            const m = checkVersionMask(res['version-rolling.mask'], 'mining.configure');
            this.versionMask = m.ok ? m.value & this.opts.versionMask : 0;
          } else {
            this.versionMask = 0;
          }
        } catch (err) {
          if (err instanceof StratumError && err.code === 'ETIMEOUT') throw err;
          this.versionMask = 0; // pool without BIP310
        }
      }
      let sub: RpcResponse;
      try {
        sub = await this.request(
          'mining.subscribe',
          this.sessionId ? [this.opts.userAgent, this.sessionId] : [this.opts.userAgent],
        );
        if (sub.error && this.sessionId) throw new StratumError('ERESUME', rejectReason(sub.error));
      } catch (err) {
        if (!(err instanceof StratumError) || err.code !== 'ERESUME') throw err;
        this.log.info({ reason: err.message }, 'pool refused to resume the session; subscribing afresh');
        this.sessionId = undefined;
        sub = await this.request('mining.subscribe', [this.opts.userAgent]);
      }
      if (sub.error || !Array.isArray(sub.result)) {
        throw new StratumError('ESUBSCRIBE', `mining.subscribe refused: ${rejectReason(sub.error)}`);
      }
      const [subs, en1, en2size] = sub.result as unknown[];
      const en = checkExtranonce(en1, en2size, 'mining.subscribe');
      if (!en.ok) throw new StratumError('ESUBSCRIBE', en.reason);
      const prevSessionId = this.sessionId;
      this.sessionId = findSessionId(subs);
      session.extranonce1 = en.value.en1;
      session.extranonce2Size = en.value.size;
      const prev = this.lastSession;
      this.lastSession = undefined;
      if (
        prev &&
        prevSessionId !== undefined &&
        prevSessionId === this.sessionId &&
        prev.extranonce1.equals(session.extranonce1) &&
        prev.extranonce2Size === session.extranonce2Size
      ) {
        // the pool kept our extranonce1: work already done on its jobs stays valid, and extranonce2 goes on from it
        session.inherit(prev);
        this.log.info('session resumed');
      }
      const auth = await this.request('mining.authorize', [this.opts.user, this.opts.password]);
      if (auth.error || auth.result !== true) {
        throw new StratumError('EAUTH', `worker ${this.opts.user} not authorized: ${rejectReason(auth.error)}`);
      }
      if (!session.alive) return;
      // both have ids: their answers are answers to our requests, not strays
      if (this.opts.suggestDifficulty && this.opts.suggestDifficulty > 0) {
        this.optional('mining.suggest_difficulty', [this.opts.suggestDifficulty]);
      }
      if (this.opts.extranonceSubscribe) this.optional('mining.extranonce.subscribe', []);
      // armed on every connection: a session without a job of its own is no use, whatever came before it
      if (!session.currentJob) {
        session.notifyTimer = setTimeout(
          () => this.fail(session, 'no job from the pool after authorize'),
          this.opts.notifyTimeoutMs,
        );
      }
      session.readyAtMs = Date.now();
      this.setState('ready');
      this.emit('ready');
      this.log.info({ endpoint: this.endpoint, versionMask: this.versionMask.toString(16) }, 'pool ready');
      if (session.currentJob) {
        this.lastJobEmitMs = Date.now();
        this.emit('job', session.currentJob);
      }
    } catch (err) {
      this.fail(session, err instanceof Error ? err.message : String(err));
    }
  }

  /** A request whose answer only matters if it is a refusal. */
  private optional(method: string, params: unknown[]): void {
    this.request(method, params).then(
      (r) => {
        if (r.error) this.log.info({ method, reason: rejectReason(r.error) }, 'pool declined a request');
      },
      () => {},
    );
  }

  private onLine(session: StratumSession, line: string): void {
    if (!session.alive) {
      // the rest of a chunk whose connection already failed: nothing in it belongs to any live session
      this.counters.linesAfterEnd++;
      return;
    }
    this.counters.linesIn++;
    // a timestamp, not a new timer per line: a pool sending thousands of lines a second costs no timer churn
    this.lastLineAtMs = Date.now();
    // while a job waits out the coalescing interval, a notify after it replaces it unread: under a flood only the
    // newest line is ever parsed (anything else that matches is handled when its turn comes, in flushJob)
    if (this.coalesceTimer && this.pendingNotify?.session === session && NOTIFY_LINE.test(line)) {
      this.counters.jobs++;
      this.counters.jobsCoalesced++;
      this.coalescedInWindow++;
      this.pendingNotify = { session, line, clean: true };
      return;
    }
    this.handle(session, parseLine(line));
  }

  private handle(session: StratumSession, msg: Parsed): void {
    if (msg.kind === 'invalid') {
      this.counters.invalidLines++;
      this.logs.invalidLine.hit({ reason: msg.reason });
      return;
    }
    if (msg.kind === 'response') {
      const id = typeof msg.id === 'number' ? msg.id : Number(msg.id);
      const p = session.pending.get(id);
      if (!p) {
        this.counters.invalidMessages++;
        this.logs.orphanResponse.hit({ id: String(msg.id).slice(0, 32) });
        return;
      }
      session.pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(msg);
      return;
    }
    this.onRequest(session, msg);
  }

  private bad(reason: string): void {
    this.counters.invalidMessages++;
    this.logs.invalidMessage.hit({ reason });
  }

  private onRequest(session: StratumSession, msg: RpcRequest): void {
    const p = msg.params;
    switch (msg.method) {
      case 'mining.notify': {
        const n = checkNotify(p);
        if (!n.ok) return this.bad(n.reason);
        return this.onNotify(session, n.value);
      }
      case 'mining.set_difficulty': {
        const d = checkDifficulty(p);
        if (!d.ok) return this.bad(d.reason);
        this.difficulty = d.value;
        this.emit('difficulty', d.value);
        return;
      }
      case 'mining.set_extranonce': {
        const e = checkExtranonce(p[0], p[1], 'mining.set_extranonce');
        if (!e.ok) return this.bad(e.reason);
        if (!e.value.en1.equals(session.extranonce1) || e.value.size !== session.extranonce2Size) {
          // work made under the old extranonce1 is no longer ours to submit
          const job = session.currentJob;
          const key = job ? (session.job(job.jobId)?.key ?? '') : '';
          session.extranonce1 = e.value.en1;
          session.extranonce2Size = e.value.size;
          session.lineage = -++this.sessionSeq;
          session.needsClean = true;
          session.jobs.clear();
          // the current job is mined under the new one at once (as cgminer does), not under the old until the pool's
          // next notify with every share thrown away meanwhile
          if (job) this.rebase(session, job, key);
        }
        return;
      }
      case 'mining.set_version_mask': {
        const m = checkVersionMask(p[0], 'mining.set_version_mask');
        if (!m.ok) return this.bad(m.reason);
        this.versionMask = this.opts.versionRolling ? m.value & this.opts.versionMask : 0;
        return;
      }
      case 'client.reconnect': {
        const host = typeof p[0] === 'string' && p[0] !== '' ? p[0] : this.host;
        const port = p[1] === undefined || p[1] === null || p[1] === '' ? this.port : Number(p[1]);
        const waitS = typeof p[2] === 'number' ? Math.min(Math.max(p[2], 0), 600) : 0;
        if (!Number.isInteger(port) || port < 1 || port > 65535) return this.bad('client.reconnect: bad port');
        if (host !== this.host && !this.opts.allowRedirect) {
          this.log.warn({ host, port }, 'pool asked to reconnect elsewhere; refused (same host only)');
          this.reply(session, msg.id, null, [20, 'redirect to another host not allowed', null]);
          return;
        }
        this.log.info({ host, port, waitS }, 'pool asked us to reconnect');
        this.host = host;
        this.port = port;
        const reason = `pool asked to reconnect in ${waitS} s`;
        this.lastError = reason;
        this.teardown(reason);
        this.emit('dead', reason);
        this.scheduleReconnect(waitS * 1000);
        return;
      }
      case 'client.show_message':
        this.log.info({ message: typeof p[0] === 'string' ? p[0].slice(0, 500) : '' }, 'message from the pool');
        this.emit('message', String(p[0] ?? '').slice(0, 500));
        return;
      case 'client.get_version':
        this.reply(session, msg.id, this.opts.userAgent, null);
        return;
      case 'mining.ping':
      case 'client.ping':
        this.reply(session, msg.id, 'pong', null);
        return;
      default:
        this.counters.unknownMethods++;
        this.logs.unknownMethod.hit({ method: msg.method.slice(0, 64) });
        if (msg.id !== null) this.reply(session, msg.id, null, [-3, 'Method not found', null]);
    }
  }

  /**
   * A job is handed to the chains at once unless one was handed out less than coalesceMs ago; then only the newest
   * waits for the end of that interval (a clean_jobs among those it replaced makes it clean). A flood of notifies
   * costs parsing, never a rebuild of every board's work per line.
   */
  private onNotify(session: StratumSession, v: NotifyParams): void {
    this.counters.jobs++;
    clearTimeout(session.notifyTimer);
    if (this.state !== 'ready') {
      // it can come in the same packet as the authorize reply; it is handed out once we are ready
      session.currentJob = this.makeJob(session, v, v.cleanJobs);
      return;
    }
    this.offer({ session, v, clean: v.cleanJobs || (this.pendingNotify?.clean ?? false) });
  }

  /** Hands a job on now, or as the newest at the end of the coalescing interval. */
  private offer(next: NonNullable<StratumClient['pendingNotify']>): void {
    if (this.pendingNotify) {
      this.counters.jobsCoalesced++;
      this.coalescedInWindow++;
    }
    this.pendingNotify = next;
    if (this.coalesceTimer) return;
    const waitMs = this.lastJobEmitMs + Math.max(this.opts.coalesceMs ?? 100, this.coalesceNowMs) - Date.now();
    if (waitMs <= 0) {
      this.flushJob();
      return;
    }
    this.coalesceTimer = setTimeout(() => {
      this.coalesceTimer = undefined;
      this.flushJob();
    }, waitMs);
  }

  private flushJob(): void {
    const p = this.pendingNotify;
    this.pendingNotify = undefined;
    if (!p?.session.alive || p.session !== this.session) return;
    if (p.remade) {
      const current = p.session.currentJob;
      if (current) this.announce(current);
      return;
    }
    let v = p.v;
    if (p.line !== undefined) {
      const msg = parseLine(p.line);
      const n = msg.kind === 'request' && msg.method === 'mining.notify' ? checkNotify(msg.params) : undefined;
      if (!n) return this.handle(p.session, msg);
      if (!n.ok) return this.bad(n.reason);
      v = n.value;
    }
    if (!v) return;
    // the jobs it replaced unread may have been clean: take it as clean, which costs at most a share of stale work
    const job = this.makeJob(p.session, v, p.clean || v.cleanJobs);
    p.session.currentJob = job;
    this.announce(job);
  }

  private announce(job: Job): void {
    this.lastJobEmitMs = Date.now();
    // several jobs replaced within one interval is a flood: the next interval is twice as long; a calm one halves it
    const baseMs = this.opts.coalesceMs ?? 100;
    this.coalesceNowMs =
      this.coalescedInWindow >= 2
        ? Math.min(baseMs * 8, Math.max(baseMs, this.coalesceNowMs) * 2)
        : Math.max(baseMs, this.coalesceNowMs / 2);
    this.coalescedInWindow = 0;
    this.emit('job', job);
  }

  /**
   * The Job for a notify on this session. A job the session already has, sent again unchanged (a resumed session),
   * is the same object, so its extranonce2 counters go on instead of repeating work the pool has already seen.
   */
  private makeJob(session: StratumSession, v: NotifyParams, clean: boolean): Job {
    const floor = this.opts.difficultyFloor?.() ?? 0;
    let difficulty = this.difficulty;
    if (floor > difficulty) {
      this.counters.difficultyFloored++;
      this.logs.floored.hit({ asked: difficulty, floor });
      difficulty = floor;
    }
    const key = [v.prevHash, v.coinb1, v.coinb2, v.merkleBranch.join(''), v.version, v.nbits, v.ntime].join('|');
    const known = session.job(v.jobId);
    let ntime = v.ntime;
    if (known && known.key === key) {
      const k = known.job;
      if (k.versionMask === this.versionMask && k.difficulty >= this.difficulty && k.difficulty >= floor / 2) {
        session.remember(v.jobId, k, key);
        return k;
      }
      // same job at another difficulty: a second later in time, so no header repeats one already mined
      ntime = (k.ntime + 1) >>> 0;
    }
    const job: Job = {
      poolId: this.opts.poolId,
      jobId: v.jobId,
      prevHashHex: v.prevHash,
      coinb1: Buffer.from(v.coinb1, 'hex'),
      coinb2: Buffer.from(v.coinb2, 'hex'),
      merkleBranch: v.merkleBranch.map((b) => Buffer.from(b, 'hex')),
      version: v.version,
      nbits: v.nbits,
      ntime,
      cleanJobs: clean || session.needsClean,
      extranonce1: session.extranonce1,
      extranonce2Size: session.extranonce2Size,
      difficulty,
      versionMask: this.versionMask,
      receivedAtMs: Date.now(),
      lineage: session.lineage,
    };
    session.needsClean = false;
    session.remember(v.jobId, job, key);
    return job;
  }

  /** A job made again under the session's extranonce now (mining.set_extranonce), handed out as clean. */
  private rebase(session: StratumSession, job: Job, key: string): void {
    const next: Job = {
      ...job,
      extranonce1: session.extranonce1,
      extranonce2Size: session.extranonce2Size,
      lineage: session.lineage,
      cleanJobs: true,
      receivedAtMs: Date.now(),
    };
    session.needsClean = false;
    session.remember(job.jobId, next, key);
    this.replaceCurrent(session, next);
  }

  /** Sends mining.submit on the live session (the manager checks the job came on it: see hasJob). */
  async submit(share: Share): Promise<SubmitResult> {
    const session = this.session;
    if (this.state !== 'ready' || !session?.alive) {
      throw new StratumError('ENOTREADY', `pool ${this.opts.poolId} is not connected`);
    }
    const params: unknown[] = [this.opts.user, share.jobId, share.extranonce2, hex8(share.ntime), hex8(share.nonce)];
    if (share.versionBits !== undefined) params.push(hex8(share.versionBits));
    const t0 = performance.now();
    try {
      const r = await this.request('mining.submit', params, this.opts.submitTimeoutMs);
      const latencyMs = performance.now() - t0;
      this.lastShareLatencyMs = latencyMs;
      if (r.result === true && !r.error) {
        this.counters.accepted++;
        this.counters.acceptedDifficulty += share.targetDifficulty;
        // an accepted share proves the pool works: the next outage starts its backoff afresh
        this.attempt = 0;
        return { accepted: true, latencyMs };
      }
      this.counters.rejected++;
      this.counters.rejectedDifficulty += share.targetDifficulty;
      return { accepted: false, reason: rejectReason(r.error), latencyMs };
    } catch (err) {
      if (err instanceof StratumError && err.code === 'ETIMEOUT') this.counters.submitTimeouts++;
      throw err;
    }
  }

  request(method: string, params: unknown[], timeoutMs = this.opts.requestTimeoutMs): Promise<RpcResponse> {
    const session = this.session;
    if (!session?.alive || session.socket.destroyed) {
      return Promise.reject(new StratumError('ENOTCONN', 'not connected'));
    }
    const id = this.nextId++;
    return new Promise<RpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        session.pending.delete(id);
        reject(new StratumError('ETIMEOUT', `${method} got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      session.pending.set(id, { method, resolve, reject, timer });
      this.send(session, `${JSON.stringify({ id, method, params })}\n`);
    });
  }

  private send(session: StratumSession, line: string): void {
    this.counters.linesOut++;
    this.counters.bytesSent += Buffer.byteLength(line);
    session.socket.write(line);
  }

  private reply(session: StratumSession, id: RpcRequest['id'], result: unknown, error: unknown): void {
    if (session.alive) this.send(session, `${JSON.stringify({ id, result, error })}\n`);
  }

  /** One timer per silence period: when it fires it looks at the last line's time and waits out the rest. */
  private watchSilence(session: StratumSession, delayMs: number): void {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      const quietMs = Date.now() - this.lastLineAtMs;
      if (quietMs >= this.opts.silenceTimeoutMs) this.fail(session, `pool silent for ${this.opts.silenceTimeoutMs} ms`);
      else if (session.alive) this.watchSilence(session, this.opts.silenceTimeoutMs - quietMs);
    }, delayMs);
  }

  private fail(session: StratumSession, reason: string): void {
    if (this.stopped || !session.alive || session !== this.session) return;
    this.lastError = reason;
    const wasReady = this.state === 'ready';
    if (wasReady) this.log.warn({ endpoint: this.endpoint, reason }, 'pool connection lost');
    else this.logs.connectFailed.hit({ endpoint: this.endpoint, reason });
    // the backoff starts afresh only after a connection that lasted: one that fails soon after authorize (a
    // giant line, a junk flood) must not be retried at the initial pace for ever
    if (session.readyAtMs && Date.now() - session.readyAtMs >= STABLE_SESSION_MS) this.attempt = 0;
    this.teardown(reason);
    this.counters.disconnects++;
    this.emit('dead', reason);
    this.scheduleReconnect();
  }

  private teardown(reason: string): void {
    clearTimeout(this.silenceTimer);
    clearTimeout(this.coalesceTimer);
    this.coalesceTimer = undefined;
    this.pendingNotify = undefined;
    const session = this.session;
    this.session = undefined;
    if (session) {
      if (session.alive) {
        session.end((method) => new StratumError('ECONNLOST', `${method}: connection lost (${reason})`));
      }
      this.lastSession = session;
    }
    if (!this.stopped) this.setState('disconnected', reason);
  }

  private scheduleReconnect(delayMs?: number): void {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    const base = this.opts.backoffInitialMs ?? 250;
    const max = this.opts.backoffMaxMs ?? 30000;
    const exp = Math.min(max, base * 2 ** Math.min(this.attempt, 16));
    // Full jitter on the upper half spreads a fleet's reconnects after a pool outage.
    const wait = delayMs ?? exp / 2 + Math.random() * (exp / 2);
    this.attempt++;
    this.reconnectAtMs = Date.now() + wait;
    this.reconnectTimer = setTimeout(() => this.connect(), wait);
  }
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** The subscription id of mining.notify, which a pool may let us resume with. */
function findSessionId(subs: unknown): string | undefined {
  if (!Array.isArray(subs)) return undefined;
  // Either [["mining.notify", id], ...] or the flat ["mining.notify", id].
  const pairs = Array.isArray(subs[0]) ? subs : [subs];
  for (const p of pairs) {
    if (Array.isArray(p) && p[0] === 'mining.notify' && typeof p[1] === 'string') return p[1];
  }
  return undefined;
}
