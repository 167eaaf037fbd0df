import type { Logger } from './log.js';
import { SystemdNotifier } from './sd-notify.js';

/**
 * Pings the systemd watchdog only while the safety loop makes progress: the loop calls `healthyTick()` after each
 * pass that read the powered boards and acted on them, and a ping goes out at the notifier's interval only if a
 * tick came since the last ping. A hung event loop or a stuck safety loop stops the pings, systemd restarts the
 * daemon after WatchdogSec, and its stop powers the boards off (the MCU watchdog does, if the process is gone).
 */
export class ServiceWatchdog {
  private lastTickMs = 0;
  private lastPingMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly notifier: SystemdNotifier,
    private readonly intervalMs = notifier.pingIntervalMs,
  ) {}

  healthyTick(): void {
    this.lastTickMs = performance.now();
  }

  start(): void {
    if (this.intervalMs === undefined || this.timer) return;
    this.timer = setInterval(() => {
      if (this.lastTickMs <= this.lastPingMs) return;
      this.lastPingMs = performance.now();
      this.notifier.watchdog();
    }, this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** What the interim watchdog driver reads of a board's controller (structural, so util stays below chain). */
interface MonitoredBoard {
  state: string;
  readings: { atMs: number };
}

const isBoard = (c: unknown): c is MonitoredBoard =>
  typeof c === 'object' &&
  c !== null &&
  typeof (c as MonitoredBoard).state === 'string' &&
  typeof (c as MonitoredBoard).readings?.atMs === 'number';

/**
 * True while every board that is powered and mining (or cooling down) has fresh readings from its once-a-second
 * safety monitor (temperatures, faults, MCU watchdog feed). Boards in other states are not monitored and not
 * waited for. `staleMs` allows a few missed passes on a loaded controller.
 */
export function boardMonitorsFresh(components: readonly unknown[], nowMs = Date.now(), staleMs = 10_000): boolean {
  return components
    .filter(isBoard)
    .filter((b) => b.state === 'mining' || b.state === 'cooling')
    .every((b) => nowMs - b.readings.atMs <= staleMs);
}

/** A safety loop that reports each pass that ran in time (the safety supervisor). */
interface HealthSource {
  onHealthy(fn: () => void): void;
}

const isHealthSource = (c: unknown): c is HealthSource =>
  typeof c === 'object' && c !== null && typeof (c as HealthSource).onHealthy === 'function';

export interface SystemdService {
  /** For the safety loop: call after each healthy pass; the watchdog is pinged only while these come. */
  healthyTick(): void;
  /** Tells systemd that shutdown has begun; does not wait for it. */
  stopping(): void;
  stop(): void;
}

/**
 * Type=notify for the daemon: READY once the components are up, then watchdog pings driven by the safety loop: the
 * safety supervisor's healthy loops where one is running (a component with `onHealthy`), otherwise the boards' own
 * monitors checked once a second. `pollBoards: false` leaves the ticks to the caller (`healthyTick`).
 */
export function startSystemdService(o: {
  log: Logger;
  components: () => readonly unknown[];
  pollBoards?: boolean;
  notifier?: SystemdNotifier;
}): SystemdService {
  const notifier = o.notifier ?? new SystemdNotifier(o.log);
  const watchdog = new ServiceWatchdog(notifier);
  let poll: NodeJS.Timeout | undefined;
  if (notifier.enabled) {
    void notifier.ready(`mining with ${o.components().filter(isBoard).length} board(s) configured`);
    watchdog.start();
    const supervisor = o.components().find(isHealthSource);
    if (supervisor) supervisor.onHealthy(() => watchdog.healthyTick());
    else if (o.pollBoards !== false && notifier.pingIntervalMs !== undefined) {
      poll = setInterval(() => {
        if (boardMonitorsFresh(o.components())) watchdog.healthyTick();
      }, 1000);
    }
    const driver = supervisor ? 'safety supervisor' : 'board monitors';
    o.log.info({ watchdogPingMs: notifier.pingIntervalMs, driver }, 'systemd notified: ready');
  }
  return {
    healthyTick: () => watchdog.healthyTick(),
    stopping: () => {
      if (notifier.enabled) void notifier.stopping();
    },
    stop: () => {
      clearInterval(poll);
      watchdog.stop();
    },
  };
}
