import type { Worker } from 'node:worker_threads';
import { type AllowRule, parseAllow } from '../config/networks.js';
import type { Miner } from '../miner.js';
import type { Component } from '../util/lifecycle.js';
import type { Logger } from '../util/log.js';
import { startWorker } from '../util/worker.js';
import {
  COUNTER,
  COUNTER_SLOTS,
  type CommandInfo,
  type FromWorker,
  type ReadKey,
  type ToWorker,
  type WorkerInit,
} from './cgminer-bridge.js';
import { type Command, commandTable } from './cgminer-commands.js';
import type { Reply } from './cgminer-format.js';
import { MSG, msgOnly, status } from './cgminer-proto.js';
import { accessOf, CONNECTION_LIFETIME_MS } from './cgminer-server.js';

export { parseAllow } from '../config/networks.js';
export { MSG } from './cgminer-proto.js';
export {
  CONNECTION_LIFETIME_MS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_JOINED,
  MAX_REPLY_BYTES,
  MAX_REQUEST_BYTES,
} from './cgminer-server.js';

// The cgminer-compatible API on TCP 4028 (cgminer 4.13.6, API 3.7), as a daemon component on the mining thread.
// Its sockets live in a worker thread (cgminer-worker.ts): hundreds of clients, slow or hostile, cost that thread.
// The mining thread only makes reports the worker asks for (each at most once per 250 ms, whatever the number of
// clients) and runs privileged commands one at a time. A worker that crashes or stops answering is restarted
// (a bounded number of times); mining and the safety loop never wait for it.

/** The worker answers a ping within this, or it is taken as hung and replaced. */
const HANG_MS = 10_000;
const PING_EVERY_MS = 2000;
/** Restarts allowed within RESTART_WINDOW_MS; past them the cgminer API stays off and says so in the log. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 10 * 60_000;
/** A privileged command that has not ended by then is answered as still running, and the next one goes on. */
const COMMAND_MAX_MS = 60_000;
/** The worker's own heap: its clients are bounded, so is its memory (a 256 MB controller runs the whole daemon). */
const WORKER_HEAP_MB = 32;
/**
 * Its young generation: 1 MB semi-spaces at most (the unit's --optimize-for-size keeps the main thread's at 512 KB).
 * Left unset, a worker's is sized from the machine's memory (48 MB here), and clients' garbage would sit in it.
 */
const WORKER_YOUNG_MB = 3;

export class CgminerApi implements Component {
  readonly name = 'cgminer-api';
  private readonly allow: AllowRule[];
  private readonly commands: Record<string, Command>;
  private readonly shared = new SharedArrayBuffer(COUNTER_SLOTS * Int32Array.BYTES_PER_ELEMENT);
  private readonly slots = new Int32Array(this.shared);
  private worker: Worker | undefined;
  private boundPort: number;
  private stopping = false;
  private restartsAt: number[] = [];
  private restartTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastPongMs = 0;
  private pingId = 0;
  /** reports made for the worker, and privileged commands run: what this API has cost the mining thread */
  readonly made = { reports: 0, commands: 0 };
  /** privileged commands, one after another even across a worker restart */
  private commandChain: Promise<void> = Promise.resolve();

  constructor(
    miner: Miner,
    private readonly log: Logger,
    private readonly opts: {
      host: string;
      port: number;
      allow: string;
      /** the life of a connection; CONNECTION_LIFETIME_MS unless a test needs connections held longer */
      lifetimeMs?: number;
      /** how long a silent worker is given before it is replaced; HANG_MS unless a test wants it sooner */
      hangMs?: number;
      /**
       * the worker's module (`import.meta.url` of a module beside it, and its name): this folder's cgminer-worker
       * unless a test wraps it (to make it hang)
       */
      workerModule?: { base: string; name: string };
    },
  ) {
    this.allow = parseAllow(opts.allow);
    this.commands = commandTable(miner);
    this.boundPort = opts.port;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Open connections now (kept by the worker in shared memory: reading it costs no message). */
  get connections(): number {
    return Atomics.load(this.slots, COUNTER.connections);
  }

  /** Connections refused by the limits, closed at the end of their life, replies cut for size, and so on. */
  get counters(): { refused: number; expired: number; tooLarge: number; tooManyJoined: number; busy: number } {
    const at = (i: number) => Atomics.load(this.slots, i);
    return {
      refused: at(COUNTER.refused),
      expired: at(COUNTER.expired),
      tooLarge: at(COUNTER.tooLarge),
      tooManyJoined: at(COUNTER.tooManyJoined),
      busy: at(COUNTER.busy),
    };
  }

  /** The worker thread now, if one runs (tests end it to see it replaced). */
  get thread(): Worker | undefined {
    return this.worker;
  }

  /** Which access an address has: undefined = none (the connection is closed unanswered). */
  access(ip: string): 'R' | 'W' | undefined {
    return accessOf(this.allow, ip);
  }

  async start(): Promise<void> {
    this.stopping = false;
    await this.spawn();
    this.log.info({ host: this.opts.host, port: this.port, allow: this.opts.allow }, 'cgminer API listening');
    this.pingTimer = setInterval(() => this.ping(), PING_EVERY_MS);
    this.pingTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.pingTimer);
    clearTimeout(this.restartTimer);
    const w = this.worker;
    this.worker = undefined;
    if (w) {
      const exited = new Promise<void>((r) => w.once('exit', () => r()));
      w.postMessage({ type: 'stop' } satisfies ToWorker);
      const late = setTimeout(() => void w.terminate(), 2000);
      await exited;
      clearTimeout(late);
    }
    const c = this.counters;
    if (c.refused + c.expired + c.tooLarge + c.tooManyJoined + c.busy > 0)
      this.log.info(c, 'cgminer API limits applied');
  }

  /** Starts a worker and resolves once it listens (or rejects with its listen error). */
  private spawn(): Promise<void> {
    const commands: Record<string, CommandInfo> = {};
    for (const [name, c] of Object.entries(this.commands))
      commands[name] = { privileged: c.privileged, joinable: c.joinable, usesParam: c.usesParam };
    const init: WorkerInit = {
      host: this.opts.host,
      // a restarted worker listens where the first one did (port 0 is chosen once)
      port: this.boundPort,
      allow: this.opts.allow,
      lifetimeMs: this.opts.lifetimeMs ?? CONNECTION_LIFETIME_MS,
      commands,
      counters: this.shared,
    };
    // the connections of a worker that died died with it
    Atomics.store(this.slots, COUNTER.connections, 0);
    const module = this.opts.workerModule ?? { base: import.meta.url, name: 'cgminer-worker' };
    const w = startWorker(module.base, module.name, {
      workerData: init,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
    });
    this.worker = w;
    this.lastPongMs = Date.now();
    return new Promise<void>((resolve, reject) => {
      let listening = false;
      w.on('message', (m: FromWorker) => {
        if (m.type === 'listening') {
          listening = true;
          this.boundPort = m.port;
          resolve();
        } else if (m.type === 'listen-error') {
          reject(Object.assign(new Error(`cgminer API: ${m.message}`), { code: m.code }));
        } else this.onMessage(w, m);
      });
      w.on('error', (err) => {
        if (!listening) reject(err);
        else this.log.error({ err: err.message }, 'cgminer API worker failed');
      });
      w.on('exit', (code) => {
        if (!listening) reject(new Error(`cgminer API worker exited (${code}) before listening`));
        if (this.worker === w) {
          this.worker = undefined;
          if (!this.stopping) this.restartLater(code);
        }
      });
    });
  }

  private restartLater(code: number): void {
    const now = Date.now();
    this.restartsAt = this.restartsAt.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.restartsAt.length >= MAX_RESTARTS) {
      this.log.error(
        { restarts: this.restartsAt.length, windowS: RESTART_WINDOW_MS / 1000 },
        'cgminer API worker keeps failing: the cgminer API stays off until the daemon restarts (mining goes on)',
      );
      return;
    }
    this.restartsAt.push(now);
    const delayMs = 500 * 2 ** (this.restartsAt.length - 1);
    this.log.warn({ exitCode: code, restartInMs: delayMs }, 'cgminer API worker stopped; restarting it');
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.spawn().then(
        () => this.log.info({ port: this.port }, 'cgminer API worker restarted'),
        (err: Error) => {
          this.log.error({ err: err.message }, 'cgminer API worker could not restart');
          if (!this.stopping && !this.worker) this.restartLater(1);
        },
      );
    }, delayMs);
    this.restartTimer.unref();
  }

  private ping(): void {
    const w = this.worker;
    if (!w) return;
    if (Date.now() - this.lastPongMs > (this.opts.hangMs ?? HANG_MS)) {
      this.log.error({ silentMs: Date.now() - this.lastPongMs }, 'cgminer API worker hung; replacing it');
      // its exit handler restarts it
      void w.terminate();
      return;
    }
    w.postMessage({ type: 'ping', id: ++this.pingId } satisfies ToWorker);
  }

  private onMessage(w: Worker, m: FromWorker): void {
    const send = (msg: ToWorker) => {
      // a reply for a worker that has since been replaced is dropped: its clients are gone
      if (this.worker === w) w.postMessage(msg);
    };
    if (m.type === 'pong') this.lastPongMs = Date.now();
    else if (m.type === 'reads') void this.reads(m.keys).then((replies) => send({ type: 'reads', id: m.id, replies }));
    else if (m.type === 'run') {
      this.made.commands++;
      const run = this.commandChain.then(() => this.runBounded(m.name, m.param));
      this.commandChain = run.then(() => undefined);
      void run.then((reply) => send({ type: 'result', id: m.id, reply }));
    }
  }

  /**
   * A privileged command, answered within COMMAND_MAX_MS: one that never ends (a board that never answers) must not
   * hold every later command, nor the worker's queue, for good. It still runs to its end; the next one goes on.
   */
  private runBounded(name: string, param: string | undefined): Promise<Reply> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Reply>((resolve) => {
      timer = setTimeout(
        () =>
          resolve(
            msgOnly('E', MSG.INVCMD, `Invalid command: '${name}' still running after ${COMMAND_MAX_MS / 1000} s`),
          ),
        COMMAND_MAX_MS,
      );
    });
    return Promise.race([this.run(name, param, true, true), late]).finally(() => clearTimeout(timer));
  }

  /** Makes the read-only reports the worker asked for. */
  private async reads(keys: ReadKey[]): Promise<[string, Reply][]> {
    const out: [string, Reply][] = [];
    for (const k of keys) {
      this.made.reports++;
      out.push([k.key, await this.run(k.name, k.param, k.write, false)]);
    }
    return out;
  }

  private async run(name: string, param: string | undefined, write: boolean, privileged: boolean): Promise<Reply> {
    const cmd = Object.hasOwn(this.commands, name) ? this.commands[name] : undefined;
    // the worker sends reads and privileged commands apart; one sent the wrong way is refused, not run
    if (!cmd || cmd.privileged !== privileged) return { status: status('E', MSG.INVCMD, 'Invalid command', false) };
    try {
      return await cmd.run(param, { write });
    } catch (err) {
      this.log.warn({ command: name, err: (err as Error).message }, 'cgminer API command failed');
      return msgOnly('E', MSG.INVCMD, `Invalid command: ${(err as Error).message}`);
    }
  }
}
