import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { LineSplitter } from '../../util/lines.js';
import type { Logger } from '../../util/log.js';
import type { Job, Share } from '../work/work.js';
import {
  checkDifficulty,
  checkExtranonce,
  checkNotify,
  checkVersionMask,
  parseLine,
  type RpcRequest,
  type RpcResponse,
  rejectReason,
} from './messages.js';

export interface StratumOptions {
  poolId: string;
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
  invalidLines: number;
  invalidMessages: number;
  unknownMethods: number;
  oversizedLines: number;
  jobs: number;
  accepted: number;
  rejected: number;
  submitTimeouts: number;
  acceptedDifficulty: number;
  rejectedDifficulty: number;
}

interface Pending {
  method: string;
  resolve: (r: RpcResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
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
    invalidLines: 0,
    invalidMessages: 0,
    unknownMethods: 0,
    oversizedLines: 0,
    jobs: 0,
    accepted: 0,
    rejected: 0,
    submitTimeouts: 0,
    acceptedDifficulty: 0,
    rejectedDifficulty: 0,
  };
  state: StratumState = 'idle';
  lastError = '';
  /** Pool-side state of this session. */
  extranonce1: Buffer = Buffer.alloc(0);
  extranonce2Size = 4;
  difficulty = 1;
  versionMask = 0;
  sessionId: string | undefined;
  currentJob: Job | undefined;
  lastShareLatencyMs = 0;
  connectedAtMs = 0;

  private socket: net.Socket | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private silenceTimer: NodeJS.Timeout | undefined;
  private notifyTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private host: string;
  private port: number;
  private readonly secure: boolean;
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly opts: StratumOptions) {
    super();
    const u = parsePoolUrl(opts.url);
    this.host = u.host;
    this.port = u.port;
    this.secure = u.secure;
    this.log = opts.log;
  }

  get endpoint(): string {
    return `${this.host}:${this.port}`;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.teardown('stopped');
    this.setState('stopped', 'stopped');
  }

  /** Drops the connection now and reconnects (used after a failed health check by the owner). */
  restart(reason: string): void {
    this.teardown(reason);
    this.scheduleReconnect(0);
  }

  private setState(s: StratumState, reason = ''): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s, reason);
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState('connecting');
    const onConnect = () => {
      this.counters.connects++;
      this.connectedAtMs = Date.now();
      void this.handshake();
    };
    let sock: net.Socket;
    if (this.secure) {
      sock = tls.connect({
        host: this.host,
        port: this.port,
        servername: net.isIP(this.host) ? undefined : this.host,
        ca: this.opts.tlsCaFile ? readFileSync(this.opts.tlsCaFile) : undefined,
        rejectUnauthorized: !this.opts.tlsInsecure,
      });
      sock.once('secureConnect', onConnect);
    } else {
      sock = net.connect({ host: this.host, port: this.port });
      sock.once('connect', onConnect);
    }
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 15000);
    this.socket = sock;
    const splitter = new LineSplitter(
      this.opts.maxLineBytes ?? 65536,
      (line) => this.onLine(line),
      (bytes) => {
        this.counters.oversizedLines++;
        this.log.warn({ bytes }, 'pool sent a line over the limit; reconnecting');
        this.fail(`line of ${bytes} bytes over the limit`);
      },
    );
    sock.on('data', (d: Buffer) => {
      if (this.socket === sock) splitter.push(d);
    });
    sock.on('error', (err) => {
      if (this.socket === sock) this.fail(`${(err as NodeJS.ErrnoException).code ?? 'error'}: ${err.message}`);
    });
    sock.on('close', () => {
      if (this.socket === sock) this.fail('connection closed by pool');
    });
    this.armSilence();
  }

  private async handshake(): Promise<void> {
    const sock = this.socket;
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
      const prevSession = this.sessionId;
      this.sessionId = findSessionId(subs);
      if (prevSession && prevSession === this.sessionId) this.log.info('session resumed');
      this.extranonce1 = en.value.en1;
      this.extranonce2Size = en.value.size;
      const auth = await this.request('mining.authorize', [this.opts.user, this.opts.password]);
      if (auth.error || auth.result !== true) {
        throw new StratumError('EAUTH', `worker ${this.opts.user} not authorized: ${rejectReason(auth.error)}`);
      }
      if (this.opts.suggestDifficulty && this.opts.suggestDifficulty > 0) {
        this.notifyOnly('mining.suggest_difficulty', [this.opts.suggestDifficulty]);
      }
      if (this.opts.extranonceSubscribe) this.notifyOnly('mining.extranonce.subscribe', []);
      if (sock !== this.socket) return;
      this.attempt = 0;
      if (!this.currentJob) {
        this.notifyTimer = setTimeout(
          () => this.fail('no job from the pool after authorize'),
          this.opts.notifyTimeoutMs,
        );
      }
      this.setState('ready');
      this.emit('ready');
      this.log.info({ endpoint: this.endpoint, versionMask: this.versionMask.toString(16) }, 'pool ready');
      if (this.currentJob) this.emit('job', this.currentJob);
    } catch (err) {
      if (sock === this.socket) this.fail(err instanceof Error ? err.message : String(err));
    }
  }

  private onLine(line: string): void {
    this.counters.linesIn++;
    this.armSilence();
    const msg = parseLine(line);
    if (msg.kind === 'invalid') {
      this.counters.invalidLines++;
      this.log.warn({ reason: msg.reason }, 'ignored an invalid line from the pool');
      return;
    }
    if (msg.kind === 'response') {
      const id = typeof msg.id === 'number' ? msg.id : Number(msg.id);
      const p = this.pending.get(id);
      if (!p) {
        this.counters.invalidMessages++;
        this.log.warn({ id: msg.id }, 'response to no request of ours');
        return;
      }
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(msg);
      return;
    }
    this.onRequest(msg);
  }

  private bad(reason: string): void {
    this.counters.invalidMessages++;
    this.log.warn({ reason }, 'ignored an invalid message from the pool');
  }

  private onRequest(msg: RpcRequest): void {
    const p = msg.params;
    switch (msg.method) {
      case 'mining.notify': {
        const n = checkNotify(p);
        if (!n.ok) return this.bad(n.reason);
        clearTimeout(this.notifyTimer);
        const v = n.value;
        const job: Job = {
          poolId: this.opts.poolId,
          jobId: v.jobId,
          prevHashHex: v.prevHash,
          coinb1: Buffer.from(v.coinb1, 'hex'),
          coinb2: Buffer.from(v.coinb2, 'hex'),
          merkleBranch: v.merkleBranch.map((b) => Buffer.from(b, 'hex')),
          version: v.version,
          nbits: v.nbits,
          ntime: v.ntime,
          cleanJobs: v.cleanJobs,
          extranonce1: this.extranonce1,
          extranonce2Size: this.extranonce2Size,
          difficulty: this.difficulty,
          versionMask: this.versionMask,
          receivedAtMs: Date.now(),
        };
        this.counters.jobs++;
        this.currentJob = job;
        // A notify can arrive in the same packet as the authorize reply; it is handed out once we are ready.
        if (this.state === 'ready') this.emit('job', job);
        return;
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
        this.extranonce1 = e.value.en1;
        this.extranonce2Size = e.value.size;
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
          this.reply(msg.id, null, [20, 'redirect to another host not allowed', null]);
          return;
        }
        this.log.info({ host, port, waitS }, 'pool asked us to reconnect');
        this.host = host;
        this.port = port;
        this.teardown('client.reconnect');
        this.scheduleReconnect(waitS * 1000);
        return;
      }
      case 'client.show_message':
        this.log.info({ message: typeof p[0] === 'string' ? p[0].slice(0, 500) : '' }, 'message from the pool');
        this.emit('message', String(p[0] ?? ''));
        return;
      case 'client.get_version':
        this.reply(msg.id, this.opts.userAgent, null);
        return;
      case 'mining.ping':
      case 'client.ping':
        this.reply(msg.id, 'pong', null);
        return;
      default:
        this.counters.unknownMethods++;
        this.log.warn({ method: msg.method.slice(0, 64) }, 'unknown method from the pool');
        if (msg.id !== null) this.reply(msg.id, null, [-3, 'Method not found', null]);
    }
  }

  /** Sends mining.submit for a share of this connection's job. */
  async submit(share: Share): Promise<SubmitResult> {
    if (this.state !== 'ready') throw new StratumError('ENOTREADY', `pool ${this.opts.poolId} is not connected`);
    const params: unknown[] = [this.opts.user, share.jobId, share.extranonce2, hex8(share.ntime), hex8(share.nonce)];
    if (share.versionBits !== undefined) params.push(hex8(share.versionBits));
    const t0 = performance.now();
    try {
      const r = await this.request('mining.submit', params);
      const latencyMs = performance.now() - t0;
      this.lastShareLatencyMs = latencyMs;
      if (r.result === true && !r.error) {
        this.counters.accepted++;
        this.counters.acceptedDifficulty += share.targetDifficulty;
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

  request(method: string, params: unknown[]): Promise<RpcResponse> {
    const sock = this.socket;
    if (!sock || sock.destroyed) return Promise.reject(new StratumError('ENOTCONN', 'not connected'));
    const id = this.nextId++;
    return new Promise<RpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new StratumError('ETIMEOUT', `${method} got no answer in ${this.opts.requestTimeoutMs} ms`));
      }, this.opts.requestTimeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      sock.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  private notifyOnly(method: string, params: unknown[]): void {
    const id = this.nextId++;
    this.socket?.write(`${JSON.stringify({ id, method, params })}\n`);
  }

  private reply(id: RpcRequest['id'], result: unknown, error: unknown): void {
    this.socket?.write(`${JSON.stringify({ id, result, error })}\n`);
  }

  private armSilence(): void {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(
      () => this.fail(`pool silent for ${this.opts.silenceTimeoutMs} ms`),
      this.opts.silenceTimeoutMs,
    );
  }

  private fail(reason: string): void {
    if (this.stopped || !this.socket) return;
    this.lastError = reason;
    const wasReady = this.state === 'ready';
    this.log.warn({ endpoint: this.endpoint, reason }, wasReady ? 'pool connection lost' : 'pool connection failed');
    this.teardown(reason);
    this.counters.disconnects++;
    this.emit('dead', reason);
    this.scheduleReconnect();
  }

  private teardown(reason: string): void {
    clearTimeout(this.silenceTimer);
    clearTimeout(this.notifyTimer);
    const sock = this.socket;
    this.socket = undefined;
    if (sock) {
      sock.removeAllListeners('data');
      sock.on('error', () => {});
      sock.destroy();
    }
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new StratumError('ECONNLOST', `${p.method}: connection lost (${reason})`));
      this.pending.delete(id);
    }
    this.currentJob = undefined;
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
