import type { Logger } from './log.js';

/** Anything long-lived: loops, timers, sockets, child processes. `stop()` must end all of them. */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Owns components: starts them in order, stops them in reverse. One log line per component each way; a stop that
 * hangs is abandoned after the remaining share of the deadline so the process can still exit.
 */
export class Supervisor {
  private readonly started: Component[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly stopDeadlineMs = 5000,
  ) {}

  async start(components: Component[]): Promise<void> {
    for (const c of components) {
      const t0 = performance.now();
      await c.start();
      this.started.push(c);
      this.log.info({ unit: c.name, ms: Math.round(performance.now() - t0) }, `${c.name} started`);
    }
  }

  get running(): readonly Component[] {
    return this.started;
  }

  /** Idempotent: every caller gets the same promise. Resolves true if every component stopped in time. */
  stop(reason: string): Promise<void> {
    this.stopping ??= this.stopAll(reason);
    return this.stopping;
  }

  private async stopAll(reason: string): Promise<void> {
    const deadline = Date.now() + this.stopDeadlineMs;
    this.log.info({ reason }, 'stopping');
    for (const c of [...this.started].reverse()) {
      const left = Math.max(50, deadline - Date.now());
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((res) => {
        timer = setTimeout(() => res('timeout'), left);
      });
      try {
        const r = await Promise.race([c.stop().then(() => 'ok' as const), timedOut]);
        const ms = Math.round(performance.now() - t0);
        if (r === 'timeout') this.log.error({ unit: c.name, ms }, `${c.name} did not stop in time; abandoned`);
        else this.log.info({ unit: c.name, ms }, `${c.name} stopped`);
      } catch (err) {
        this.log.error({ unit: c.name, err }, `${c.name} failed to stop cleanly`);
      } finally {
        clearTimeout(timer);
      }
    }
    this.started.length = 0;
  }
}
