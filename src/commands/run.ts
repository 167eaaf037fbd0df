import { checkConfigFile } from '../config/check.js';
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ConfigStore } from '../config/store.js';
import { type ComponentFactory, Daemon, registerConfigSecrets } from '../daemon.js';
import { LockError } from '../util/lock.js';
import { createLogger, type Logger } from '../util/log.js';
import { type SystemdService, startSystemdService } from '../util/service-watchdog.js';
import { VERSION } from '../version.js';

export interface RunOptions {
  configFile?: string;
  config?: Config;
  pretty?: boolean;
  factory: ComponentFactory;
  /**
   * Exit the process 1 s after the stop if a handle someone else left open still holds it (default true). The demo
   * has its own clean-up to do after the daemon stops, and holds nothing of its own open.
   */
  exitAfterStop?: boolean;
  /** Called once the daemon is up (the demo prints its banner here). */
  onStarted?: (daemon: Daemon, log: Logger) => void | Promise<void>;
}

/**
 * Runs the daemon until a signal or a fatal error. Resolves with the process exit code:
 * 0 after SIGTERM/SIGINT, 2 for bad configuration or a held lock, 1 after a crash.
 */
export async function runDaemon(opts: RunOptions): Promise<number> {
  let store: ConfigStore;
  let warnings: string[] = [];
  try {
    if (opts.config) store = new ConfigStore({ document: opts.config, file: opts.configFile });
    else {
      const file = opts.configFile ?? '/etc/asicd/asicd.toml';
      // the same validation as `asicd config check`: what passes there starts here
      warnings = checkConfigFile(file, process.env).warnings;
      store = ConfigStore.open(file, process.env);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`asicd: invalid configuration, nothing started:\n${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const config = store.running;
  registerConfigSecrets(config);
  const pretty = opts.pretty || config.log.pretty || process.stdout.isTTY === true;
  const log = createLogger({ level: config.log.level, pretty });
  const daemon = new Daemon(
    store,
    opts.configFile ?? (opts.config ? undefined : '/etc/asicd/asicd.toml'),
    log,
    opts.factory,
  );

  let exitCode = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  let stopping = false;
  let systemd: SystemdService | undefined;
  const shutdown = async (reason: string, code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    systemd?.stopping();
    // If an owner hangs past the deadline, leave anyway: systemd will restart us and the MCU watchdog cuts power.
    const force = setTimeout(() => {
      log.fatal('shutdown took longer than 6 s; forcing exit');
      log.flush?.();
      process.exit(code || 1);
    }, 6000);
    force.unref();
    await daemon.stop(reason);
    clearTimeout(force);
    log.info({ exitCode: code }, 'asicd stopped');
    resolveDone();
  };

  const onSignal = (sig: NodeJS.Signals) => {
    void shutdown(sig, 0);
  };
  const onHup = () => {
    try {
      const r = daemon.reload();
      log.info({ applied: r.applied, needRestart: r.needRestart }, 'configuration reloaded');
      if (r.needRestart.length) log.warn({ keys: r.needRestart }, 'these settings take effect after a restart');
    } catch (err) {
      log.error({ err: err instanceof ConfigError ? err.message : err }, 'reload refused; the running config stays');
    }
  };
  const onCrash = (err: unknown, kind: string) => {
    log.fatal({ err }, `${kind}: stopping`);
    void shutdown(kind, 1);
  };
  const onException = (err: Error) => onCrash(err, 'uncaught exception');
  const onRejection = (err: unknown) => onCrash(err, 'unhandled rejection');
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onHup);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);

  // A daemon runs until told to stop, even while none of its components holds the event loop open.
  const keepAlive = setInterval(() => {}, 1 << 30);
  log.info({ version: VERSION, pid: process.pid, config: opts.configFile }, 'asicd starting');
  log.debug({ config }, 'effective configuration');
  for (const w of warnings) log.warn(w);
  try {
    await daemon.start();
    await opts.onStarted?.(daemon, log);
    // Type=notify: READY now, then watchdog pings while the boards' safety monitors make progress
    systemd = startSystemdService({ log, components: () => daemon.running });
  } catch (err) {
    if (err instanceof LockError) {
      log.fatal({ err: err.message }, 'another daemon holds the boards');
      await shutdown('lock', 2);
    } else {
      log.fatal({ err }, 'start failed');
      await shutdown('start failed', 1);
    }
  }
  await done;
  systemd?.stop();
  clearInterval(keepAlive);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  process.off('SIGHUP', onHup);
  process.off('uncaughtException', onException);
  process.off('unhandledRejection', onRejection);
  log.flush?.();
  // Boards are off and everything we own is closed; a handle someone else left open (a client's socket, a library
  // timer) must not keep a stopped daemon alive, which systemd would count as a hung stop.
  if (opts.exitAfterStop !== false) setTimeout(() => process.exit(exitCode), 1000).unref();
  return exitCode;
}
