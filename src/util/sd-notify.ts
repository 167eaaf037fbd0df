import { spawn } from 'node:child_process';
import type { Logger } from './log.js';

/**
 * The systemd notification protocol (READY=1, WATCHDOG=1, STOPPING=1, STATUS=…) for a daemon started as
 * `Type=notify`. Without NOTIFY_SOCKET (run by hand, in a container, in tests) every call does nothing.
 *
 * Messages go through `systemd-notify`, a child process, because Node has no unix datagram sockets: the npm
 * packages that add them are native addons (a build per architecture for our ARM tarballs, or prebuilt binaries the
 * registry does not carry for arm64), while systemd-notify ships with the very systemd it talks to. The unit
 * therefore says NotifyAccess=all. READY and STOPPING wait for systemd to take the message (systemd-notify's
 * default barrier), so a short-lived sender is never mistaken for a stranger; watchdog pings do not wait, since a
 * lost ping is covered by the next one (pings come at a quarter of WatchdogSec).
 */
export class SystemdNotifier {
  private readonly socket: string | undefined;
  private readonly watchdogUsec: number;
  private pinging = false;
  private warned = false;

  constructor(
    private readonly log: Logger,
    env: NodeJS.ProcessEnv = process.env,
    private readonly command = 'systemd-notify',
  ) {
    this.socket = env.NOTIFY_SOCKET || undefined;
    // WATCHDOG_PID names the process the watchdog is meant for; a child that inherited the variables is not it
    const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
    const usec = Number(env.WATCHDOG_USEC);
    this.watchdogUsec = this.socket && forUs && Number.isFinite(usec) && usec > 0 ? usec : 0;
  }

  /** True when started by systemd with Type=notify. */
  get enabled(): boolean {
    return this.socket !== undefined;
  }

  /** How often to ping (a quarter of WatchdogSec), or undefined when no watchdog is set. */
  get pingIntervalMs(): number | undefined {
    return this.watchdogUsec ? Math.max(100, Math.floor(this.watchdogUsec / 4000)) : undefined;
  }

  /** Start-up is complete: systemd marks the unit active and starts the watchdog clock. */
  ready(status?: string): Promise<boolean> {
    const args = ['--ready', `--pid=${process.pid}`];
    if (status) args.push(`--status=${status}`);
    return this.send(args);
  }

  /** A line for `systemctl status`. */
  status(text: string): Promise<boolean> {
    return this.send(['--no-block', `--status=${text}`]);
  }

  /** Shutdown has begun (boards are being powered off). */
  stopping(): Promise<boolean> {
    return this.send(['STOPPING=1']);
  }

  /** One watchdog ping; skipped while the previous one is still being sent. */
  watchdog(): void {
    if (!this.watchdogUsec || this.pinging) return;
    this.pinging = true;
    void this.send(['--no-block', 'WATCHDOG=1']).finally(() => {
      this.pinging = false;
    });
  }

  private send(args: string[]): Promise<boolean> {
    if (!this.socket) return Promise.resolve(false);
    return new Promise((resolve) => {
      let stderr = '';
      const child = spawn(this.command, args, {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, NOTIFY_SOCKET: this.socket },
      });
      child.stderr.on('data', (d: Buffer) => {
        if (stderr.length < 500) stderr += d.toString();
      });
      child.on('error', (err) => {
        this.warnOnce(`${this.command} could not run: ${err.message}`);
        resolve(false);
      });
      child.on('close', (code) => {
        if (code !== 0) this.warnOnce(`${this.command} ${args.join(' ')} exited ${code}: ${stderr.trim()}`);
        resolve(code === 0);
      });
    });
  }

  /** Once per process: a broken notify path would otherwise log at every ping. */
  private warnOnce(msg: string): void {
    if (this.warned) return;
    this.warned = true;
    this.log.warn({ socket: this.socket }, `systemd notification failed: ${msg}`);
  }
}
