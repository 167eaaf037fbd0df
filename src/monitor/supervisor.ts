import { EventEmitter } from 'node:events';
import type { ChainController } from '../chain/controller.js';
import type { Config } from '../config/schema.js';
import type { Component } from '../util/lifecycle.js';
import type { Logger } from '../util/log.js';
import { BoardGuard } from './board-guard.js';
import type { FanHealth } from './fan-health.js';

/** The supervisor's loop period; each board is read and judged once per loop. */
export const SUPERVISOR_TICK_MS = 500;
/** A loop waits at most this long for any one board: a stuck link never holds the others. */
const BOARD_DEADLINE_MS = 900;

/**
 * The safety supervisor: the only part of the daemon that powers boards off for thermal, fan and MCU-fault reasons.
 * Its own loop (every 500 ms) reads the fans and every board's MCU (temperatures, FAULTS, POWER_EN, VOLTAGE_READ,
 * POWER_W), holds boards through their state machines and checks they are off; its reads are what feed the MCU
 * watchdogs, so a stalled supervisor ends with boards the MCUs power off. Emits 'healthy' after every loop that ran
 * in time (a systemd watchdog ping can hang off it).
 */
export class Supervisor extends EventEmitter implements Component {
  readonly name = 'supervisor';
  readonly guards: BoardGuard[];
  readonly counters = { loops: 0, lateLoops: 0 };
  lastLoopMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private thermal: Config['thermal'];

  constructor(
    chains: ChainController[],
    readonly fans: FanHealth,
    thermal: Config['thermal'],
    private readonly log: Logger,
  ) {
    super();
    this.thermal = thermal;
    this.guards = chains.map((c) => new BoardGuard(c, log.child({ board: c.index })));
  }

  async start(): Promise<void> {
    await this.fans.read().catch(() => {});
    this.timer = setInterval(() => void this.loop(), SUPERVISOR_TICK_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }

  reload(next: Config, changed: string[]): string[] {
    this.thermal = next.thermal;
    return changed.filter((k) => k.startsWith('thermal.'));
  }

  /** Whether the loop has run recently (for /health and a watchdog ping). */
  get healthy(): boolean {
    return this.lastLoopMs > 0 && Date.now() - this.lastLoopMs < SUPERVISOR_TICK_MS * 4;
  }

  /** Registers a callback for every healthy loop (the seam for a systemd watchdog ping). */
  onHealthy(fn: () => void): void {
    this.on('healthy', fn);
  }

  private async loop(): Promise<void> {
    if (this.running) {
      this.counters.lateLoops++;
      return;
    }
    this.running = true;
    const t0 = Date.now();
    try {
      await bounded(this.fans.read(), BOARD_DEADLINE_MS);
      const ctx = { thermal: this.thermal, airflow: this.fans.problem };
      await Promise.all(this.guards.map((g) => bounded(g.check(ctx), BOARD_DEADLINE_MS)));
      this.counters.loops++;
      this.lastLoopMs = Date.now();
      if (this.lastLoopMs - t0 < SUPERVISOR_TICK_MS * 2) this.emit('healthy');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'supervisor loop failed');
    } finally {
      this.running = false;
    }
  }
}

/** Waits for `p` at most `ms`; what runs on is left to finish on its own (the guard skips while busy). */
function bounded(p: Promise<void>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.catch(() => {}),
    new Promise<void>((r) => {
      t = setTimeout(r, ms);
    }),
  ]).finally(() => clearTimeout(t));
}
