import { isDeepStrictEqual } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import { stringify } from 'smol-toml';
import { writeFileAtomic } from '../util/atomic-file.js';
import { VERSION } from '../version.js';
import { changedKeys } from './diff.js';
import { envOverridePaths, readConfigDocument, validateConfig } from './load.js';
import { type Config, ConfigSchema } from './schema.js';

export interface ApplyResult {
  /** setting paths that took effect live */
  applied: string[];
  /** setting paths saved but running with their old value until a restart */
  needRestart: string[];
}

/** Applies a validated config to the running components; returns what took effect (the rest waits for a restart). */
export type Applier = (next: Config, changed: string[]) => ApplyResult;

type Path = (string | number)[];

function getAt(o: unknown, path: Path): unknown {
  let cur = o;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

function setAt(o: unknown, path: Path, v: unknown): void {
  let cur = o as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    if (next === null || typeof next !== 'object') return;
    cur = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1];
  if (v === undefined) delete cur[last];
  else cur[last] = v;
}

/** `section.key` or a whole section (`pools`, `chains`) as a path. */
const keyPath = (k: string): Path => k.split('.');

/**
 * The one owner of the configuration. It keeps three views:
 *  - the document: what the file says (defaults filled in), the only thing ever written, never an environment value;
 *  - desired: the document with ASICD_* overrides, what runs after a restart;
 *  - running: what runs now (desired, except settings that wait for a restart keep their running value).
 * Every change (REST, cgminer API, SIGHUP, runtime pool operations) goes through `update`, `record` or `reload`,
 * which run to completion one at a time (they are synchronous, and a change made while one is being applied is
 * refused), validate the whole result, write the file atomically, then apply.
 */
export class ConfigStore {
  private document: Config;
  private desiredConfig: Config;
  private runningConfig: Config;
  private pending = new Set<string>();
  private applier: Applier | undefined;
  private applying = false;
  private versionNo = 1;

  constructor(opts: { document: unknown; file?: string; env?: NodeJS.ProcessEnv; source?: string }) {
    this.file = opts.file;
    this.env = opts.env ?? {};
    const source = opts.source ?? opts.file ?? 'configuration';
    this.desiredConfig = validateConfig(opts.document, source, this.env);
    this.document = Value.Default(ConfigSchema, structuredClone(opts.document)) as Config;
    this.runningConfig = this.desiredConfig;
  }

  readonly file: string | undefined;
  private readonly env: NodeJS.ProcessEnv;

  /** Reads and validates a file (with the environment's overrides); throws ConfigError with every problem. */
  static open(file: string, env: NodeJS.ProcessEnv = process.env): ConfigStore {
    return new ConfigStore({ document: readConfigDocument(file), file, env });
  }

  /** The daemon hands in how to apply a config to the running components. */
  attach(applier: Applier): void {
    this.applier = applier;
  }

  /** What runs now. */
  get running(): Config {
    return this.runningConfig;
  }

  /** What runs after a restart (the file plus environment overrides). */
  get desired(): Config {
    return this.desiredConfig;
  }

  /** Grows by one with every accepted change. */
  get version(): number {
    return this.versionNo;
  }

  /** Settings saved but waiting for a restart. */
  get pendingRestart(): string[] {
    return [...this.pending];
  }

  /** Changes the config: `change` gets a copy of the desired config and returns the next one; applied live. */
  update(source: string, change: (desired: Config) => unknown): ApplyResult {
    return this.commit(source, change(structuredClone(this.desiredConfig)), 'apply');
  }

  /**
   * Saves a change its owner already made live (the pool manager after an operator's pool operation). A call made
   * while a change is being applied is the echo of that change and is dropped: the store already holds it.
   */
  record(source: string, change: (desired: Config) => unknown): void {
    if (this.applying) return;
    this.commit(source, change(structuredClone(this.desiredConfig)), 'record');
  }

  /** SIGHUP: re-reads the file; a bad file changes nothing (throws ConfigError). */
  reload(): ApplyResult {
    if (!this.file) return { applied: [], needRestart: [] };
    const doc = readConfigDocument(this.file);
    const desired = validateConfig(doc, this.file, this.env);
    this.document = Value.Default(ConfigSchema, structuredClone(doc)) as Config;
    return this.install(desired, 'apply');
  }

  /** Writes the file from the document as it stands (cgminer's save). */
  save(): void {
    if (this.file) this.writeDocument(this.document);
  }

  private writeDocument(document: Config): void {
    if (!this.file) return;
    writeFileAtomic(
      this.file,
      `# written by asicd ${VERSION}; environment overrides are not saved here\n${stringify(document)}\n`,
      0o600,
    );
  }

  private commit(source: string, candidate: unknown, mode: 'apply' | 'record'): ApplyResult {
    if (this.applying) throw new Error('another configuration change is being applied; try again');
    const doc = structuredClone(candidate) as Config;
    // An environment override stays out of the file: where the caller left the overridden value as it was, the
    // document keeps what the file had; where the caller changed it, that change is the operator's and is saved.
    for (const path of envOverridePaths(this.env)) {
      if (isDeepStrictEqual(getAt(doc, path), getAt(this.desiredConfig, path)))
        setAt(doc, path, structuredClone(getAt(this.document, path)));
    }
    const desired = validateConfig(doc, source, this.env);
    const document = Value.Default(ConfigSchema, doc) as Config;
    this.writeDocument(document);
    this.document = document;
    return this.install(desired, mode);
  }

  private install(desired: Config, mode: 'apply' | 'record'): ApplyResult {
    const prevDesired = this.desiredConfig;
    const prevRunning = this.runningConfig;
    this.desiredConfig = desired;
    this.versionNo++;
    let applied: string[];
    if (mode === 'record') {
      applied = changedKeys(prevDesired, desired);
    } else {
      const changed = changedKeys(prevRunning, desired);
      this.applying = true;
      try {
        applied = this.applier ? this.applier(desired, changed).applied : changed;
      } finally {
        this.applying = false;
      }
    }
    const running = structuredClone(desired);
    const pending = new Set<string>();
    for (const k of changedKeys(prevRunning, desired)) {
      if (applied.includes(k)) continue;
      pending.add(k);
      setAt(running, keyPath(k), structuredClone(getAt(prevRunning, keyPath(k))));
    }
    this.runningConfig = running;
    this.pending = pending;
    return { applied, needRestart: [...pending] };
  }
}
