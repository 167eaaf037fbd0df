import { join } from 'node:path';
import { type Config, secretValues } from './config/schema.js';
import { type ApplyResult, ConfigStore } from './config/store.js';
import { sweepTempFiles } from './util/atomic-file.js';
import { type Component, Supervisor } from './util/lifecycle.js';
import { LockSet } from './util/lock.js';
import { type Logger, registerSecret } from './util/log.js';

/** A component that can take some setting changes without a restart. */
export interface Reloadable {
  /** Applies what it can of `next`; returns the changed keys it took (from `changed`). */
  reload(next: Config, changed: string[]): string[];
}

function isReloadable(c: unknown): c is Reloadable {
  return typeof (c as Partial<Reloadable>).reload === 'function';
}

export function registerConfigSecrets(config: Config): void {
  for (const s of secretValues(config)) registerSecret(s);
}

export interface FactoryContext {
  configFile: string | undefined;
  /** The one owner of the configuration: every change goes through it, and only it writes the file. */
  store: ConfigStore;
  /** What runs now (the store's running config). */
  currentConfig: () => Config;
}

export type ComponentFactory = (config: Config, log: Logger, ctx: FactoryContext) => Component[];

/**
 * The daemon's root: one owner for the config, the device locks and the component tree.
 */
export class Daemon {
  private readonly supervisor: Supervisor;
  private readonly locks: LockSet;
  private components: Component[] = [];
  readonly store: ConfigStore;

  constructor(
    config: Config | ConfigStore,
    private readonly configFile: string | undefined,
    private readonly log: Logger,
    private readonly factory: ComponentFactory,
  ) {
    this.store = config instanceof ConfigStore ? config : new ConfigStore({ document: config, file: configFile });
    this.store.attach((next, changed) => this.apply(next, changed));
    this.supervisor = new Supervisor(log.child({ component: 'daemon' }));
    this.locks = new LockSet(this.config.daemon.lock_dir);
  }

  private get config(): Config {
    return this.store.running;
  }

  get running(): readonly Component[] {
    return this.components;
  }

  get currentConfig(): Config {
    return this.store.running;
  }

  async start(): Promise<void> {
    // a daemon killed while saving leaves temp files beside what it saves; the saved files themselves are whole
    const swept = [this.configFile, ...['tokens.json', 'admin.token'].map((f) => join(this.config.daemon.state_dir, f))]
      .filter((f): f is string => f !== undefined)
      .reduce((n, f) => n + sweepTempFiles(f), 0);
    if (swept) this.log.info({ swept }, 'removed temp files left by an interrupted save');
    for (const ch of this.config.chains.filter((c) => c.enabled)) {
      await this.locks.acquire(ch.uart);
      await this.locks.acquire(ch.spi);
    }
    this.components = this.factory(this.config, this.log, {
      configFile: this.configFile,
      store: this.store,
      currentConfig: () => this.store.running,
    });
    await this.supervisor.start(this.components);
  }

  async stop(reason: string): Promise<void> {
    await this.supervisor.stop(reason);
    this.locks.releaseAll();
  }

  /** SIGHUP: re-read the file, apply what can change live, say what needs a restart. A bad file changes nothing. */
  reload(): ApplyResult {
    return this.store.reload();
  }

  /** Applies a validated config to the running components; the store calls it for every change it takes. */
  private apply(next: Config, changed: string[]): ApplyResult {
    registerConfigSecrets(next);
    const applied = new Set<string>();
    if (changed.includes('log.level')) {
      this.log.level = next.log.level;
      applied.add('log.level');
    }
    for (const c of this.components) {
      if (isReloadable(c)) for (const k of c.reload(next, changed)) applied.add(k);
    }
    const needRestart = changed.filter((k) => !applied.has(k));
    return { applied: [...applied], needRestart };
  }
}
