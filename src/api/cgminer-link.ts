import { COUNTER, type FromWorker, type ReadKey } from './cgminer-bridge.js';
import type { Reply } from './cgminer-format.js';
import { MSG, msgOnly } from './cgminer-proto.js';
import type { Backend } from './cgminer-server.js';

// The cgminer API worker's link to the mining thread: reports asked for at most once per report per
// REPORT_REUSE_MS, in batches at most every MIN_BATCH_GAP_MS, and privileged commands one at a time, taken in turn
// from each client address. What the mining thread spends on the cgminer API is bounded whatever the clients do.

/** A read-only report is reused this long: 300 clients polling cost one report, not 300. */
export const REPORT_REUSE_MS = 250;
/** Least time between two batches of reports asked of the mining thread. */
export const MIN_BATCH_GAP_MS = 25;
/** Reports in one batch (the rest wait for the next). */
const MAX_BATCH = 32;
/** Privileged commands waiting for the mining thread, from all clients; past it a client is told to retry. */
export const MAX_PENDING_COMMANDS = 32;

/**
 * The Backend of the worker's CgminerServer.
 */
export class MainLink implements Backend {
  constructor(
    /** sends a message to the mining thread */
    private readonly post: (m: FromWorker) => void,
    /** the shared counters (COUNTER slots) */
    private readonly counters: Int32Array,
    /** a client is answered within its connection's life */
    private readonly lifetimeMs: number,
  ) {}

  private readonly cache = new Map<string, { atMs: number; reply: Reply }>();
  private readonly wanted = new Map<string, { k: ReadKey; waiters: ((r: Reply) => void)[] }>();
  private readonly asked = new Map<string, { k: ReadKey; waiters: ((r: Reply) => void)[] }>();
  private batchId = 0;
  private batchInFlight = false;
  private lastBatchMs = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  // privileged commands: round robin over addresses, one at a time
  private readonly commands = new Map<
    string,
    { name: string; param?: string; gone: () => boolean; done: (r: Reply) => void }[]
  >();
  private pendingCommands = 0;
  private commandInFlight: { id: number; done: (r: Reply) => void } | undefined;
  private commandId = 0;

  read(name: string, param: string | undefined, write: boolean): Promise<Reply> {
    // the access matters to `check` only, but keying every report by it keeps that rule out of this file
    const key = `${name}\u0000${param ?? ''}\u0000${write ? 'W' : 'R'}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.atMs < REPORT_REUSE_MS) return Promise.resolve(hit.reply);
    return new Promise<Reply>((resolve) => {
      const pending = this.asked.get(key) ?? this.wanted.get(key);
      if (pending) pending.waiters.push(resolve);
      else this.wanted.set(key, { k: { key, name, param, write }, waiters: [resolve] });
      this.pump();
    });
  }

  private pump(): void {
    if (this.batchInFlight || this.pumpTimer || this.wanted.size === 0) return;
    const wait = this.lastBatchMs + MIN_BATCH_GAP_MS - Date.now();
    if (wait > 0) {
      this.pumpTimer = setTimeout(() => {
        this.pumpTimer = undefined;
        this.pump();
      }, wait);
      return;
    }
    const keys: ReadKey[] = [];
    for (const [key, entry] of this.wanted) {
      if (keys.length >= MAX_BATCH) break;
      this.wanted.delete(key);
      this.asked.set(key, entry);
      keys.push(entry.k);
    }
    this.batchInFlight = true;
    this.lastBatchMs = Date.now();
    this.post({ type: 'reads', id: ++this.batchId, keys });
  }

  onReads(replies: [string, Reply][]): void {
    const now = Date.now();
    if (this.cache.size > 512) this.cache.clear();
    for (const [key, reply] of replies) {
      this.cache.set(key, { atMs: now, reply });
      const entry = this.asked.get(key);
      this.asked.delete(key);
      for (const w of entry?.waiters ?? []) w(reply);
    }
    this.batchInFlight = false;
    this.pump();
  }

  run(name: string, param: string | undefined, addr: string, gone: () => boolean): Promise<Reply> {
    if (this.pendingCommands >= MAX_PENDING_COMMANDS) {
      Atomics.add(this.counters, COUNTER.busy, 1);
      return Promise.resolve(msgOnly('E', MSG.INVCMD, 'Invalid command: too many commands waiting; try again'));
    }
    this.pendingCommands++;
    return new Promise<Reply>((resolve) => {
      let settled = false;
      const done = (r: Reply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pendingCommands--;
        resolve(r);
      };
      // the client is told within its connection's life; the command, once sent, still runs to its end on the
      // mining thread and holds the next one back (commands stay one at a time)
      const timer = setTimeout(
        () => done(msgOnly('E', MSG.INVCMD, 'Invalid command: timed out waiting for the miner')),
        this.lifetimeMs,
      );
      const list = this.commands.get(addr);
      if (list) list.push({ name, param, gone, done });
      else this.commands.set(addr, [{ name, param, gone, done }]);
      this.nextCommand();
    });
  }

  private nextCommand(): void {
    while (!this.commandInFlight) {
      // Map order: the first address is the one served longest ago (a served address moves to the back)
      const first = this.commands.entries().next();
      if (first.done) return;
      const [addr, list] = first.value;
      this.commands.delete(addr);
      const c = list.shift();
      if (list.length) this.commands.set(addr, list);
      if (!c) continue;
      // a client that left while it waited is not worth the mining thread's time
      if (c.gone()) {
        c.done(msgOnly('E', MSG.INVCMD, 'Invalid command: the client left'));
        continue;
      }
      const id = ++this.commandId;
      this.commandInFlight = { id, done: c.done };
      this.post({ type: 'run', id, name: c.name, param: c.param });
    }
  }

  onResult(id: number, reply: Reply): void {
    if (this.commandInFlight?.id !== id) return;
    const { done } = this.commandInFlight;
    this.commandInFlight = undefined;
    // a command may have changed what the reports show: the next read asks again
    this.cache.clear();
    done(reply);
    this.nextCommand();
  }
}
