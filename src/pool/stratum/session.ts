import type net from 'node:net';
import type { Job } from '../work/work.js';
import type { RpcResponse } from './messages.js';

export interface Pending {
  method: string;
  resolve: (r: RpcResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Jobs a session remembers by id: enough for a pool's usual window, bounded against a flood of ids. */
const MAX_JOBS = 32;

/**
 * One TCP connection's worth of pool state: the socket, its outstanding requests, the extranonce it was given and the
 * jobs that came on it. When it ends, everything it owns ends with it: requests fail, timers stop, and nothing that
 * arrives afterwards (the rest of a chunk already read) is taken.
 */
export class StratumSession {
  alive = true;
  readonly pending = new Map<number, Pending>();
  /** by job id, oldest first; each with the notify it came from, so a re-sent identical job is the same object */
  readonly jobs = new Map<string, { job: Job; key: string }>();
  currentJob: Job | undefined;
  extranonce1: Buffer = Buffer.alloc(0);
  extranonce2Size = 4;
  readyAtMs = 0;
  notifyTimer: NodeJS.Timeout | undefined;
  /**
   * Work made under one extranonce1 stays valid while the pool keeps it: a resumed session continues its lineage (and
   * its jobs' extranonce2 counters); a fresh one starts a new lineage whose first job tells the chains to drop the old.
   */
  lineage: number;
  /** the first job of a new lineage has not been handed out yet */
  needsClean = true;

  constructor(
    readonly seq: number,
    readonly socket: net.Socket,
  ) {
    this.lineage = seq;
  }

  /** A job of this session by id (and the notify key it was made from). */
  job(id: string): { job: Job; key: string } | undefined {
    return this.jobs.get(id);
  }

  remember(id: string, job: Job, key: string): void {
    this.jobs.delete(id);
    this.jobs.set(id, { job, key });
    if (this.jobs.size > MAX_JOBS) {
      const oldest = this.jobs.keys().next().value;
      if (oldest !== undefined) this.jobs.delete(oldest);
    }
  }

  /** Takes over a resumed predecessor's lineage and jobs: same extranonce1, so its work is still ours to finish. */
  inherit(prev: StratumSession): void {
    this.lineage = prev.lineage;
    this.needsClean = false;
    for (const [id, j] of prev.jobs) this.jobs.set(id, j);
  }

  /** Ends the session: timers stop, outstanding requests fail with `err`, the socket is destroyed. */
  end(err: (method: string) => Error): void {
    this.alive = false;
    clearTimeout(this.notifyTimer);
    this.socket.removeAllListeners('data');
    this.socket.on('error', () => {});
    this.socket.destroy();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err(p.method));
    }
    this.currentJob = undefined;
  }
}
