import type { Logger } from '../util/log.js';
import { DeliveryError } from './http.js';

export interface QueueOptions {
  /** messages waiting (besides the one in flight); beyond it the oldest waiting is dropped */
  max: number;
  /** attempts after the first */
  retries: number;
  /** first backoff; doubles each attempt up to maxDelayMs */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface QueueStats {
  sent: number;
  /** given up after the retries, or refused for good (bad token, bad chat) */
  failed: number;
  /** dropped because the queue was full */
  dropped: number;
  retries: number;
  queued: number;
  lastError: string;
}

/**
 * One notifier's outbox: bounded, delivered in order by one worker with exponential backoff (with jitter, so a fleet
 * that saw the same outage does not retry in step). Pushing never waits: alerts and mining never wait on the network.
 */
export class DeliveryQueue<T> {
  readonly stats: QueueStats = { sent: 0, failed: 0, dropped: 0, retries: 0, queued: 0, lastError: '' };
  private readonly items: T[] = [];
  private running = false;
  private stopped = false;
  private wait: { timer: NodeJS.Timeout; done: () => void } | undefined;
  private readonly abort = new AbortController();

  constructor(
    readonly name: string,
    private readonly send: (item: T, cancel: AbortSignal) => Promise<void>,
    private readonly o: QueueOptions,
    private readonly log: Logger,
  ) {}

  push(item: T): void {
    if (this.stopped) return;
    this.items.push(item);
    // the head is in flight while the worker runs: dropping it would not stop it (it would count as both dropped and
    // sent, and its retries would pass to the next message), so the oldest one waiting goes
    const first = this.running ? 1 : 0;
    if (this.items.length - first > this.o.max) {
      this.items.splice(first, 1);
      this.stats.dropped++;
    }
    this.stats.queued = this.items.length;
    if (!this.running) void this.run();
  }

  /** Ends the worker: a pending wait is cut short and a request in flight is aborted. */
  stop(): void {
    this.stopped = true;
    this.abort.abort();
    if (this.wait) {
      clearTimeout(this.wait.timer);
      this.wait.done();
    }
    if (this.items.length)
      this.log.warn({ notifier: this.name, unsent: this.items.length }, 'stopping with unsent notifications');
  }

  private async run(): Promise<void> {
    this.running = true;
    let attempt = 0;
    while (!this.stopped && this.items.length) {
      const item = this.items[0];
      try {
        await this.send(item, this.abort.signal);
        this.stats.sent++;
        this.finish(item);
        attempt = 0;
      } catch (err) {
        if (this.stopped) break;
        const e = err instanceof DeliveryError ? err : new DeliveryError((err as Error).message, false);
        this.stats.lastError = e.message;
        if (e.permanent || attempt >= this.o.retries) {
          this.stats.failed++;
          this.log.warn({ notifier: this.name, attempts: attempt + 1, err: e.message }, 'notification not delivered');
          this.finish(item);
          attempt = 0;
          continue;
        }
        attempt++;
        this.stats.retries++;
        const backoff = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 1));
        const delayMs =
          e.retryAfterMs !== undefined
            ? Math.min(this.o.maxDelayMs, e.retryAfterMs)
            : Math.round(backoff * (0.8 + Math.random() * 0.4));
        await new Promise<void>((done) => {
          this.wait = { timer: setTimeout(done, delayMs), done };
        });
        this.wait = undefined;
      }
    }
    this.running = false;
  }

  private finish(item: T): void {
    const i = this.items.indexOf(item);
    if (i >= 0) this.items.splice(i, 1);
    this.stats.queued = this.items.length;
  }
}
