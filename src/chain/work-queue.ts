import { performance } from 'node:perf_hooks';
import { HeaderHasher } from '../pool/work/header-hasher.js';
import { Extranonce2Counter, type Job, makeWork, type Work } from '../pool/work/work.js';
import { FeedTracker } from './feed-estimate.js';

/** Job ids in flight on a chain (contract §1.2: multiples of 8, 0–120). */
export const SLOTS = 16;

export interface Slot {
  work: Work;
  /** the job was replaced by clean_jobs or a pool switch: results are stale, not hardware errors */
  stale: boolean;
  /** nonce × version bits of the shares found in this work (exact: a share is never sent twice) */
  shares: Set<number>;
  versionMask: number;
  /**
   * The lowest TICKET_ZEROS in force since the work was sent: what its results must meet. A ticket lowered while the
   * chips hash this work lets them answer it under the lower one, and those results may still be on their way when
   * the ticket is raised again (the tuner raises it as it finishes measuring).
   */
  ticket: number;
  /** the work's header hashes on the nonce path */
  hasher: HeaderHasher;
}

/**
 * A board's work: the job slots the chips may still answer for, extranonce2 handed out per job so no two boards (or
 * two dispatches) ever hash the same work, and which results have gone stale.
 */
/** Jobs whose extranonce2 counters are kept: far more than a pool keeps valid at once. */
const MAX_JOB_COUNTERS = 256;

export class WorkQueue {
  private readonly slots: (Slot | undefined)[] = Array.from({ length: SLOTS }, () => undefined);
  private nextSlot = 0;
  /**
   * One extranonce2 counter per job as the pool knows it (pool, extranonce1, job id), not per Job object: a resumed
   * session or a re-handed job is a new object for the same work space, and restarting its counter would repeat work
   * the pool has already seen (duplicate shares). Bounded: the oldest are forgotten.
   */
  private readonly en2 = new Map<string, Extranonce2Counter>();
  /** the daemon's account of how long its chips sat exhausted between the jobs it sent */
  readonly feed = new FeedTracker();
  /** time to make one work on this host (ms, moving average): one bound on how fast a chain can be fed */
  workGenMs = 0;

  constructor(
    private readonly board: number,
    private readonly boards: number,
  ) {}

  /**
   * New work from `job` in the next slot, or undefined when the job's extranonce2 space is used up. The chip job id
   * is `slot × 8`.
   */
  take(job: Job, ticket: number): { jobId: number; slot: Slot } | undefined {
    // one counter per job, kept while the job lives: going back to a job never repeats its work
    const key = `${job.poolId}:${job.extranonce1.toString('hex')}:${job.extranonce2Size}:${job.jobId}`;
    let counter = this.en2.get(key);
    if (!counter) {
      counter = new Extranonce2Counter(job.extranonce2Size, this.board, this.boards);
      this.en2.set(key, counter);
      if (this.en2.size > MAX_JOB_COUNTERS) this.en2.delete(this.en2.keys().next().value as string);
    }
    const en2 = counter.take();
    if (!en2) return undefined;
    const index = this.nextSlot;
    this.nextSlot = (this.nextSlot + 1) % SLOTS;
    const t0 = performance.now();
    const work = makeWork(job, en2);
    const tookMs = performance.now() - t0;
    this.workGenMs = this.workGenMs === 0 ? tookMs : this.workGenMs * 0.9 + tookMs * 0.1;
    const slot: Slot = {
      work,
      stale: false,
      shares: new Set(),
      versionMask: job.versionMask,
      ticket,
      hasher: new HeaderHasher(work),
    };
    this.slots[index] = slot;
    return { jobId: index * 8, slot };
  }

  /** Host time per job for this board when every board's works are made on one core (ms). */
  get hostMsPerJob(): number {
    return this.workGenMs * this.boards;
  }

  /** The slot a chip's reply names (its job id with the small-core bits). */
  lookup(jobIdWithCore: number): Slot | undefined {
    return this.slots[(jobIdWithCore >> 3) & (SLOTS - 1)];
  }

  /** TICKET_ZEROS is now `zeros`: the work the chips hold may be answered under it from now on. */
  ticketSet(zeros: number): void {
    for (const s of this.slots) if (s && zeros < s.ticket) s.ticket = zeros;
  }

  /** A new block on that pool: what the chips still find for its older jobs is stale there. */
  staleFor(poolId: number): void {
    for (const s of this.slots) if (s && s.work.job.poolId === poolId) s.stale = true;
  }

  /** After a power cycle the chips hold no work: every slot is forgotten. */
  clear(): void {
    for (let i = 0; i < SLOTS; i++) this.slots[i] = undefined;
    this.feed.reset();
  }
}

/** The key a nonce is remembered by in its slot: nonce (32 bits) and version bits (16) as one exact integer. */
export function nonceKey(nonce: number, versionBits: number): number {
  return (versionBits & 0xffff) * 0x1_0000_0000 + (nonce >>> 0);
}
