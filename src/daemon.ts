import { join } from 'node:path';
import { changedKeys } from './config/diff.js';
import { loadConfigFile } from './config/load.js';
import type { Config } from './config/schema.js';
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
  for (const p of config.pools) registerSecret(p.password);
}

export interface FactoryContext {
  configFile: string | undefined;
  /** Applies a validated config live; returns what took effect and what needs a restart. */
  applyConfig: (next: Config) => { applied: string[]; needRestart: string[] };
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

  constructor(
    private config: Config,
    private readonly configFile: string | undefined,
    private readonly log: Logger,
    private readonly factory: ComponentFactory,
  ) {
    this.supervisor = new Supervisor(log.child({ component: 'daemon' }));
    this.locks = new LockSet(config.daemon.lock_dir);
  }

  get running(): readonly Component[] {
    return this.components;
  }

  get currentConfig(): Config {
    return this.config;
  }

  async start(): Promise<void> {
    // a daemon killed while saving leaves temp files beside what it saves; the saved files themselves are whole
    const swept = [this.configFile, ...['tokens.json', 'admin.token'].map((f) => join(this.config.daemon.state_dir, f))]
      .filter((f): f is string => f !== undefined)
      .reduce((n, f) => n + sweepTempFiles(f), 0);
    if (swept) this.log.info({ swept }, 'removed temp files left by an interrupted save');
    for (const ch of this.config.chains.filter((c) => c.enabled)) {
      this.locks.acquire(ch.uart);
      this.locks.acquire(ch.spi);
    }
    this.components = this.factory(this.config, this.log, {
      configFile: this.configFile,
      applyConfig: (next) => this.apply(next),
      currentConfig: () => this.config,
    });
    await this.supervisor.start(this.components);
  }

  async stop(reason: string): Promise<void> {
    await this.supervisor.stop(reason);
    this.locks.releaseAll();
  }

  /** SIGHUP: re-read the file, apply what can change live, say what needs a restart. A bad file changes nothing. */
  reload(): { applied: string[]; needRestart: string[] } {
    if (!this.configFile) return { applied: [], needRestart: [] };
    return this.apply(loadConfigFile(this.configFile));
  }

  /** Applies a validated config to the running components (SIGHUP, API config edits). */
  apply(next: Config): { applied: string[]; needRestart: string[] } {
    registerConfigSecrets(next);
    const changed = changedKeys(this.config, next);
    const applied = new Set<string>();
    if (changed.includes('log.level')) {
      this.log.level = next.log.level;
      applied.add('log.level');
    }
    for (const c of this.components) {
      if (isReloadable(c)) for (const k of c.reload(next, changed)) applied.add(k);
    }
    this.config = next;
    const needRestart = changed.filter((k) => !applied.has(k));
    return { applied: [...applied], needRestart };
  }
}
