import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { DIFF1_TARGET, sha256d } from '../../pool/work/hash.js';
import { LineSplitter } from '../../util/lines.js';
import type { Logger } from '../../util/log.js';
import { JobFactory, type PoolJob, poolHeader } from './jobs.js';

export interface VardiffOptions {
  sharesPerMinute: number;
  minDifficulty: number;
  maxDifficulty: number;
  retargetS: number;
}

export interface TestPoolOptions {
  host?: string;
  port?: number;
  difficulty?: number;
  vardiff?: VardiffOptions;
  extranonce1Size?: number;
  extranonce2Size?: number;
  versionMask?: number;
  notifyIntervalMs?: number;
  newBlockIntervalMs?: number;
  branchDepth?: number;
  /** Reject workers not in this map (name → password); absent = any worker. */
  workers?: Record<string, string>;
  maxLineBytes?: number;
  /** misbehave from the start (see setFault) */
  fault?: Fault;
  /** false: answer `mining.configure` with `{}`, as pools without BIP310 do (default true) */
  grantVersionRolling?: boolean;
  log?: Logger;
}

export type Fault =
  | { kind: 'none' }
  | { kind: 'stall' } // stop answering and sending, keep sockets open
  | { kind: 'reject' } // reject every share
  | { kind: 'reject-some'; acceptEvery: number } // accept one valid share of every `acceptEvery`, reject the rest
  | { kind: 'slow'; delayMs: number } // delay every reply
  | { kind: 'garbage' } // send a garbage line before each message
  | { kind: 'black-hole' } // everything as usual, but mining.submit is never answered
  | { kind: 'notify-flood'; perS: number } // clean_jobs notifies at this rate (each a valid job for 5 s)
  | { kind: 'tiny-difficulty'; difficulty: number } // set_difficulty to this, with a fresh job
  // set_difficulty `factor` times the session's, with no new job, enforced at once on the jobs already sent (as some
  // pools do, where Stratum has it apply from the next job)
  | { kind: 'raise-difficulty'; factor: number }
  // mining.set_extranonce with a new extranonce1, no new job; the jobs already sent are judged under it at once
  | { kind: 'set-extranonce' }
  | { kind: 'junk'; perS: number } // lines that are not JSON at this rate
  // a line of `bytes` followed in the same write by a notify of a new job; sessions are not resumable and the first
  // job of a new session comes a second late; on every new connection too when `everyConnection`
  | { kind: 'giant-line'; bytes: number; everyConnection: boolean }
  | { kind: 'reconnect'; waitS: number }; // client.reconnect to ourselves with this wait

export const FAULT_KINDS = [
  'none',
  'stall',
  'reject',
  'reject-some',
  'slow',
  'garbage',
  'black-hole',
  'notify-flood',
  'tiny-difficulty',
  'raise-difficulty',
  'set-extranonce',
  'junk',
  'giant-line',
  'reconnect',
] as const;

/** How long a flood job stays valid: the miner hands on only the newest job every so often. */
const FLOOD_JOB_TTL_MS = 5000;

export interface WorkerStats {
  accepted: number;
  /** rejected for any reason but staleness */
  rejected: number;
  /** for a job replaced by a new block: a race every miner loses now and then */
  stale: number;
  acceptedDifficulty: number;
  rejects: Record<string, number>;
  /** [time ms, difficulty] of accepted shares, for rate windows. */
  history: [number, number][];
  blocks: number;
}

interface Session {
  id: string;
  socket: net.Socket;
  subscribed: boolean;
  extranonce1: Buffer;
  workers: Set<string>;
  difficulty: number;
  pendingDifficulty: number | undefined;
  /** difficulty in force when each job was sent to this session */
  jobDifficulty: Map<string, number>;
  versionMask: number;
  shareTimes: number[];
  lastRetargetMs: number;
  extranonceSubscribed: boolean;
}

export const REJECT = {
  other: 20,
  stale: 21,
  duplicate: 22,
  lowDifficulty: 23,
  unauthorized: 24,
  notSubscribed: 25,
} as const;

/**
 * A Stratum v1 pool for tests and the demo, as strict as a production pool: it rebuilds every submitted header with
 * its own code and judges it. Any correct Stratum v1 miner can mine on it.
 */
export class TestPool extends EventEmitter {
  readonly stats = new Map<string, WorkerStats>();
  readonly counters = {
    connections: 0,
    invalidLines: 0,
    oversizedLines: 0,
    unknownMethods: 0,
    submits: 0,
    /** submits left unanswered (black-hole fault) */
    swallowed: 0,
    /** lines sent by the fault modes (flood notifies, junk, giant lines, reconnects) */
    faultLines: 0,
    /** submits that met their difficulty (reject-some refuses most of them) */
    validSubmits: 0,
  };
  private server: net.Server | undefined;
  private readonly sessions = new Map<string, Session>();
  /** Sessions that disconnected, resumable by id: their extranonce1. */
  private readonly resumable = new Map<string, Buffer>();
  private readonly jobs = new Map<string, PoolJob>();
  private readonly seen = new Set<string>();
  private readonly factory: JobFactory;
  private current: PoolJob | undefined;
  private notifyTimer: NodeJS.Timeout | undefined;
  private blockTimer: NodeJS.Timeout | undefined;
  private fault: Fault = { kind: 'none' };
  private faultTimer: NodeJS.Timeout | undefined;
  /** flood job ids → the job they stand for, with when they stop being valid */
  private readonly floodJobs = new Map<string, { job: PoolJob; untilMs: number }>();
  private floodSeq = 0;
  /** the current job's notify line, cut where the id goes (the flood sends thousands a second) */
  private floodTemplate: { job: PoolJob; before: string; after: string } | undefined;
  private boundPort = 0;
  private readonly o: Required<Omit<TestPoolOptions, 'vardiff' | 'workers' | 'log' | 'fault' | 'grantVersionRolling'>> &
    TestPoolOptions;

  constructor(opts: TestPoolOptions = {}) {
    super();
    this.o = {
      host: '127.0.0.1',
      port: 0,
      difficulty: 1,
      extranonce1Size: 4,
      extranonce2Size: 4,
      versionMask: 0x1fffe000,
      notifyIntervalMs: 30000,
      newBlockIntervalMs: 600000,
      branchDepth: 12,
      maxLineBytes: 16384,
      ...opts,
    };
    this.factory = new JobFactory({
      extranonce1Size: this.o.extranonce1Size,
      extranonce2Size: this.o.extranonce2Size,
      branchDepth: this.o.branchDepth,
      version: 0x20000000,
      nbits: 0x17034219,
      tag: 'asicd-testpool',
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `stratum+tcp://${this.o.host}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    this.current = this.factory.make(true);
    this.jobs.set(this.current.id, this.current);
    await this.listen(this.o.port);
    if (this.o.fault) this.setFault(this.o.fault);
    this.notifyTimer = setInterval(() => this.broadcastJob(false), this.o.notifyIntervalMs);
    this.blockTimer = setInterval(() => this.newBlock(), this.o.newBlockIntervalMs);
  }

  private listen(port: number): Promise<void> {
    const server = net.createServer((s) => this.accept(s));
    this.server = server;
    return new Promise((res, rej) => {
      server.once('error', rej);
      server.listen(port, this.o.host, () => {
        server.off('error', rej);
        const a = server.address();
        this.boundPort = typeof a === 'object' && a ? a.port : port;
        res();
      });
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.faultTimer);
    clearInterval(this.notifyTimer);
    clearInterval(this.blockTimer);
    for (const s of this.sessions.values()) s.socket.destroy();
    this.sessions.clear();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }

  /** The pool dies: listener closed, every connection reset (RST). */
  async kill(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sessions.values()) s.socket.resetAndDestroy();
    this.sessions.clear();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  }

  /** The pool comes back on the same port. */
  async revive(): Promise<void> {
    if (!this.server) await this.listen(this.boundPort);
  }

  setFault(f: Fault): void {
    this.fault = f;
    clearInterval(this.faultTimer);
    this.faultTimer = undefined;
    const live = () => [...this.sessions.values()].filter((s) => s.workers.size > 0 && !s.socket.destroyed);
    switch (f.kind) {
      case 'notify-flood':
      case 'junk': {
        // in 10 ms ticks, carrying over fractions so any rate is met on average
        let owed = 0;
        this.faultTimer = setInterval(() => {
          owed += f.perS / 100;
          const n = Math.floor(owed);
          owed -= n;
          for (const s of live()) {
            const lines: string[] = [];
            for (let i = 0; i < n; i++) lines.push(f.kind === 'junk' ? `}{ junk ${i} \u0001` : this.floodNotify());
            if (n > 0) s.socket.write(`${lines.join('\n')}\n`);
            this.counters.faultLines += n;
          }
        }, 10);
        return;
      }
      case 'tiny-difficulty':
        for (const s of live()) {
          s.pendingDifficulty = f.difficulty;
          this.freshJobFor(s);
        }
        return;
      case 'raise-difficulty':
        for (const s of live()) {
          s.difficulty *= f.factor;
          for (const id of s.jobDifficulty.keys()) s.jobDifficulty.set(id, s.difficulty);
          this.counters.faultLines++;
          this.send(s, { id: null, method: 'mining.set_difficulty', params: [s.difficulty] });
        }
        return;
      case 'set-extranonce':
        for (const s of live()) {
          s.extranonce1 = randomBytes(this.o.extranonce1Size);
          this.counters.faultLines++;
          this.send(s, {
            id: null,
            method: 'mining.set_extranonce',
            params: [s.extranonce1.toString('hex'), this.o.extranonce2Size],
          });
        }
        return;
      case 'giant-line':
        for (const s of live()) this.sendGiant(s, f.bytes);
        return;
      case 'reconnect':
        for (const s of live()) {
          this.counters.faultLines++;
          this.send(s, { id: null, method: 'client.reconnect', params: [this.o.host, this.boundPort, f.waitS] });
        }
        return;
      default:
    }
  }

  /** A notify line of a new clean job for the flood: the current job under a new id, valid for a while. */
  private floodNotify(): string {
    const now = Date.now();
    const job = this.current;
    if (!job) return '';
    const id = `f${(this.floodSeq++).toString(16)}`;
    this.floodJobs.set(id, { job, untilMs: now + FLOOD_JOB_TTL_MS });
    // drop the expired, oldest first (the map keeps insertion order)
    for (const [k, v] of this.floodJobs) {
      if (v.untilMs > now) break;
      this.floodJobs.delete(k);
    }
    if (this.floodTemplate?.job !== job) {
      const line = JSON.stringify({
        id: null,
        method: 'mining.notify',
        params: notifyParams({ ...job, id: '@', clean: true }),
      });
      const at = line.indexOf('"@"');
      this.floodTemplate = { job, before: line.slice(0, at + 1), after: line.slice(at + 2) };
    }
    return `${this.floodTemplate.before}${id}${this.floodTemplate.after}`;
  }

  /** The giant line and, in the same write, a notify of a job that is valid on this session only. */
  private sendGiant(s: Session, bytes: number): void {
    const job = this.factory.make(false);
    this.jobs.set(job.id, job);
    s.jobDifficulty.set(job.id, s.difficulty);
    const giant = JSON.stringify({ id: null, method: 'client.show_message', params: ['x'.repeat(bytes)] });
    const notify = JSON.stringify({ id: null, method: 'mining.notify', params: notifyParams({ ...job, clean: true }) });
    this.counters.faultLines++;
    s.socket.write(`${giant}\n${notify}\n`);
  }

  /** A new block: every job so far is stale; miners get a clean_jobs notify. */
  newBlock(): void {
    this.factory.newBlock();
    this.jobs.clear();
    this.broadcastJob(true);
  }

  broadcastJob(clean: boolean): void {
    this.current = this.factory.make(clean);
    this.jobs.set(this.current.id, this.current);
    // keep a bounded window of jobs for the current block
    if (this.jobs.size > 64) {
      const oldest = this.jobs.keys().next().value;
      if (oldest !== undefined) this.jobs.delete(oldest);
    }
    for (const s of this.sessions.values()) if (s.workers.size > 0) this.sendJob(s, this.current);
  }

  workerStats(name: string): WorkerStats {
    let w = this.stats.get(name);
    if (!w) {
      w = { accepted: 0, rejected: 0, stale: 0, acceptedDifficulty: 0, rejects: {}, history: [], blocks: 0 };
      this.stats.set(name, w);
    }
    return w;
  }

  /** Accepted difficulty per second over the last `windowMs`, for one worker or all. */
  acceptedRate(windowMs: number, worker?: string): number {
    const since = Date.now() - windowMs;
    let sum = 0;
    for (const [name, w] of this.stats) {
      if (worker && name !== worker) continue;
      for (const [t, d] of w.history) if (t >= since) sum += d;
    }
    return sum / (windowMs / 1000);
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  private accept(socket: net.Socket): void {
    this.counters.connections++;
    socket.setNoDelay(true);
    const s: Session = {
      id: randomBytes(4).toString('hex'),
      socket,
      subscribed: false,
      extranonce1: randomBytes(this.o.extranonce1Size),
      workers: new Set(),
      difficulty: this.o.difficulty,
      pendingDifficulty: undefined,
      jobDifficulty: new Map(),
      versionMask: 0,
      shareTimes: [],
      lastRetargetMs: Date.now(),
      extranonceSubscribed: false,
    };
    this.sessions.set(s.id, s);
    const splitter = new LineSplitter(
      this.o.maxLineBytes,
      (line) => this.onLine(s, line),
      () => {
        this.counters.oversizedLines++;
        this.o.log?.warn({ session: s.id }, 'line over the limit; closing');
        socket.destroy();
      },
    );
    socket.on('data', (d: Buffer) => {
      if (this.fault.kind !== 'stall') splitter.push(d);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sessions.delete(s.id);
      this.resumable.set(s.id, s.extranonce1);
      if (this.resumable.size > 1000) {
        const k = this.resumable.keys().next().value;
        if (k !== undefined) this.resumable.delete(k);
      }
    });
  }

  private send(s: Session, msg: unknown): void {
    if (this.fault.kind === 'stall' || s.socket.destroyed) return;
    const line = `${JSON.stringify(msg)}\n`;
    const write = () => {
      if (s.socket.destroyed) return;
      if (this.fault.kind === 'garbage') s.socket.write('}{ not json at all \u0001\n');
      s.socket.write(line);
    };
    if (this.fault.kind === 'slow') setTimeout(write, this.fault.delayMs);
    else write();
  }

  private reply(s: Session, id: unknown, result: unknown, error: [number, string, null] | null = null): void {
    this.send(s, { id, result, error });
  }

  private onLine(s: Session, line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.counters.invalidLines++;
      this.o.log?.warn({ session: s.id, line: line.slice(0, 80) }, 'invalid line from a miner: not JSON');
      this.reply(s, null, null, [REJECT.other, 'Parse error: not JSON', null]);
      return;
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      this.counters.invalidLines++;
      this.o.log?.warn({ session: s.id, line: line.slice(0, 80) }, 'invalid line from a miner: not an object');
      this.reply(s, null, null, [REJECT.other, 'Invalid request: expected an object', null]);
      return;
    }
    const { id, method, params } = msg as { id?: unknown; method?: unknown; params?: unknown };
    const safeId = typeof id === 'number' || typeof id === 'string' ? id : null;
    if (typeof method !== 'string' || !Array.isArray(params)) {
      this.counters.invalidLines++;
      this.o.log?.warn({ session: s.id, line: line.slice(0, 80) }, 'invalid request from a miner');
      this.reply(s, safeId, null, [REJECT.other, 'Invalid request: method and params required', null]);
      return;
    }
    switch (method) {
      case 'mining.configure':
        return this.onConfigure(s, safeId, params);
      case 'mining.subscribe':
        return this.onSubscribe(s, safeId, params);
      case 'mining.authorize':
        return this.onAuthorize(s, safeId, params);
      case 'mining.submit':
        return this.onSubmit(s, safeId, params);
      case 'mining.suggest_difficulty': {
        const d = params[0];
        if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0 || d > 2 ** 64) {
          this.counters.invalidLines++;
          this.o.log?.warn({ session: s.id, difficulty: String(d).slice(0, 40) }, 'invalid suggested difficulty');
          if (safeId !== null)
            this.reply(s, safeId, null, [REJECT.other, 'Invalid difficulty: expected a number above 0', null]);
          return;
        }
        if (!this.o.vardiff) {
          s.pendingDifficulty = d;
          if (s.workers.size > 0) this.freshJobFor(s);
        }
        if (safeId !== null) this.reply(s, safeId, true);
        return;
      }
      case 'mining.extranonce.subscribe':
        s.extranonceSubscribed = true;
        this.reply(s, safeId, true);
        return;
      default:
        this.counters.unknownMethods++;
        this.reply(s, safeId, null, [REJECT.other, `Method not found: ${method.slice(0, 40)}`, null]);
    }
  }

  private onConfigure(s: Session, id: unknown, params: unknown[]): void {
    const [exts, opts] = params;
    const result: Record<string, unknown> = {};
    if (Array.isArray(exts) && exts.includes('version-rolling') && this.o.grantVersionRolling !== false) {
      const asked = (opts as Record<string, unknown> | undefined)?.['version-rolling.mask'];
      const want =
        typeof asked === 'string' && /^[0-9a-fA-F]{1,8}$/.test(asked) ? Number.parseInt(asked, 16) : 0xffffffff;
      s.versionMask = (want & this.o.versionMask) >>> 0;
      result['version-rolling'] = true;
      result['version-rolling.mask'] = s.versionMask.toString(16).padStart(8, '0');
    }
    this.reply(s, id, result);
  }

  private onSubscribe(s: Session, id: unknown, params: unknown[]): void {
    const resume = params[1];
    if (typeof resume === 'string' && this.fault.kind !== 'giant-line') {
      const en1 = this.resumable.get(resume);
      if (en1) {
        this.resumable.delete(resume);
        this.sessions.delete(s.id);
        s.id = resume;
        s.extranonce1 = en1;
        this.sessions.set(s.id, s);
      }
    }
    s.subscribed = true;
    this.reply(s, id, [
      [
        ['mining.set_difficulty', s.id],
        ['mining.notify', s.id],
      ],
      s.extranonce1.toString('hex'),
      this.o.extranonce2Size,
    ]);
  }

  private onAuthorize(s: Session, id: unknown, params: unknown[]): void {
    const [user, pass] = params;
    if (typeof user !== 'string' || user.length === 0 || user.length > 256) {
      this.reply(s, id, false, [REJECT.unauthorized, 'Unauthorized worker', null]);
      return;
    }
    if (this.o.workers && this.o.workers[user] !== pass) {
      this.reply(s, id, false, [REJECT.unauthorized, 'Unauthorized worker', null]);
      return;
    }
    const first = s.workers.size === 0;
    s.workers.add(user);
    this.reply(s, id, true);
    if (first && s.subscribed && this.current) {
      const f = this.fault;
      if (f.kind === 'giant-line') {
        if (f.everyConnection) this.sendGiant(s, f.bytes);
        // a second with no job on the new session: what came on the old one must not be mined meanwhile
        setTimeout(() => {
          if (!s.socket.destroyed && this.current) this.sendJob(s, { ...this.current, clean: true });
        }, 1000);
        return;
      }
      if (f.kind === 'tiny-difficulty') s.pendingDifficulty = f.difficulty;
      s.pendingDifficulty ??= s.difficulty;
      this.sendJob(s, { ...this.current, clean: true });
      if (f.kind === 'reconnect') {
        this.counters.faultLines++;
        this.send(s, { id: null, method: 'client.reconnect', params: [this.o.host, this.boundPort, f.waitS] });
      }
    }
  }

  /** A job of the current block for one session, so a new difficulty never re-prices work already sent. */
  private freshJobFor(s: Session): void {
    const job = this.factory.make(false);
    this.jobs.set(job.id, job);
    this.sendJob(s, job);
  }

  private sendJob(s: Session, job: PoolJob): void {
    if (s.pendingDifficulty !== undefined) {
      s.difficulty = s.pendingDifficulty;
      s.pendingDifficulty = undefined;
      this.send(s, { id: null, method: 'mining.set_difficulty', params: [s.difficulty] });
    }
    s.jobDifficulty.set(job.id, s.difficulty);
    if (s.jobDifficulty.size > 128) {
      const k = s.jobDifficulty.keys().next().value;
      if (k !== undefined) s.jobDifficulty.delete(k);
    }
    this.send(s, { id: null, method: 'mining.notify', params: notifyParams(job) });
  }

  private reject(s: Session, id: unknown, worker: string, code: number, reason: string): void {
    const w = this.workerStats(worker);
    if (reason === 'Stale job') w.stale++;
    else w.rejected++;
    w.rejects[reason] = (w.rejects[reason] ?? 0) + 1;
    this.emit('share', { worker, accepted: false, reason });
    this.o.log?.info({ session: s.id, worker, reason }, 'share rejected');
    this.reply(s, id, false, [code, reason, null]);
  }

  private onSubmit(s: Session, id: unknown, params: unknown[]): void {
    this.counters.submits++;
    if (this.fault.kind === 'black-hole') {
      this.counters.swallowed++;
      return;
    }
    if (this.listenerCount('submit') > 0) this.emit('submit', params, performance.now());
    const [worker, jobId, en2Hex, ntimeHex, nonceHex, vbHex] = params;
    const name = typeof worker === 'string' ? worker.slice(0, 256) : '?';
    if (!s.subscribed) return this.reject(s, id, name, REJECT.notSubscribed, 'Not subscribed');
    if (typeof worker !== 'string' || !s.workers.has(worker)) {
      return this.reject(s, id, name, REJECT.unauthorized, 'Unauthorized worker');
    }
    const hex = (v: unknown, len: number) => typeof v === 'string' && v.length === len && /^[0-9a-fA-F]*$/.test(v);
    if (typeof jobId !== 'string') return this.reject(s, id, name, REJECT.other, 'Invalid job id');
    if (!hex(en2Hex, this.o.extranonce2Size * 2)) {
      return this.reject(
        s,
        id,
        name,
        REJECT.other,
        `Invalid extranonce2: expected ${this.o.extranonce2Size} bytes of hex`,
      );
    }
    if (!hex(ntimeHex, 8)) return this.reject(s, id, name, REJECT.other, 'Invalid ntime');
    if (!hex(nonceHex, 8)) return this.reject(s, id, name, REJECT.other, 'Invalid nonce');
    if (vbHex !== undefined && !hex(vbHex, 8)) return this.reject(s, id, name, REJECT.other, 'Invalid version bits');
    const flood = this.floodJobs.get(jobId);
    const job = this.jobs.get(jobId) ?? (flood && flood.untilMs > Date.now() ? flood.job : undefined);
    if (!job) {
      const known = s.jobDifficulty.has(jobId);
      return this.reject(s, id, name, REJECT.stale, known ? 'Stale job' : 'Job not found');
    }
    if (this.fault.kind === 'reject') return this.reject(s, id, name, REJECT.other, 'Rejected (test pool fault mode)');
    const ntime = Number.parseInt(ntimeHex as string, 16);
    if (ntime < job.ntime || ntime > job.ntime + 600)
      return this.reject(s, id, name, REJECT.other, 'ntime out of range');
    let version = job.version;
    if (vbHex !== undefined) {
      const bits = Number.parseInt(vbHex as string, 16) >>> 0;
      if ((bits & ~s.versionMask) !== 0) return this.reject(s, id, name, REJECT.other, 'Invalid version bits');
      version = ((job.version & ~s.versionMask) | bits) >>> 0;
    }
    const key =
      `${jobId}:${s.extranonce1.toString('hex')}:${en2Hex}:${ntimeHex}:${nonceHex}:${vbHex ?? ''}`.toLowerCase();
    if (this.seen.has(key)) return this.reject(s, id, name, REJECT.duplicate, 'Duplicate share');
    const header = poolHeader(
      job,
      s.extranonce1,
      Buffer.from(en2Hex as string, 'hex'),
      ntime,
      Number.parseInt(nonceHex as string, 16),
      version,
    );
    const hash = sha256d(header);
    let value = 0n;
    for (let i = 31; i >= 0; i--) value = (value << 8n) | BigInt(hash[i]);
    const shareDiff = value === 0n ? Number.POSITIVE_INFINITY : Number(DIFF1_TARGET) / Number(value);
    const need = s.jobDifficulty.get(jobId) ?? s.difficulty;
    if (shareDiff < need * (1 - 1e-12)) {
      return this.reject(s, id, name, REJECT.lowDifficulty, 'Low difficulty share');
    }
    // a pool whose difficulty accounting differs from what it announced: valid shares refused now and then
    if (this.fault.kind === 'reject-some' && ++this.counters.validSubmits % this.fault.acceptEvery !== 0) {
      return this.reject(s, id, name, REJECT.lowDifficulty, 'Low difficulty share');
    }
    this.seen.add(key);
    if (this.seen.size > 200000) this.seen.clear();
    const w = this.workerStats(name);
    w.accepted++;
    w.acceptedDifficulty += need;
    const now = Date.now();
    w.history.push([now, need]);
    if (w.history.length > 100000) w.history.splice(0, 50000);
    // nbits target: a block
    const exp = job.nbits >>> 24;
    const mant = BigInt(job.nbits & 0xffffff);
    if (value <= mant << BigInt(8 * (exp - 3))) w.blocks++;
    this.emit('share', { worker: name, accepted: true, difficulty: need, shareDifficulty: shareDiff });
    this.reply(s, id, true);
    this.vardiff(s, now);
  }

  private vardiff(s: Session, now: number): void {
    const v = this.o.vardiff;
    if (!v) return;
    s.shareTimes.push(now);
    const elapsedS = (now - s.lastRetargetMs) / 1000;
    if (elapsedS < v.retargetS) return;
    const rate = (s.shareTimes.length / elapsedS) * 60;
    s.shareTimes = [];
    s.lastRetargetMs = now;
    const factor = Math.min(4, Math.max(0.25, rate / v.sharesPerMinute));
    if (factor > 0.8 && factor < 1.25) return;
    const next = Math.min(v.maxDifficulty, Math.max(v.minDifficulty, s.difficulty * factor));
    if (next === s.difficulty) return;
    s.pendingDifficulty = next;
    this.freshJobFor(s);
  }
}

function notifyParams(job: PoolJob): unknown[] {
  const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
  return [
    job.id,
    job.prevHashStratum,
    job.coinb1.toString('hex'),
    job.coinb2.toString('hex'),
    job.branch.map((b) => b.toString('hex')),
    hex8(job.version),
    hex8(job.nbits),
    hex8(job.ntime),
    job.clean,
  ];
}
