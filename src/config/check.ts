import { existsSync, statSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { ConfigError, type ConfigIssue, readConfigDocument, validateConfig } from './load.js';
import { type Config, ConfigSchema } from './schema.js';

export interface CheckResult {
  config: Config;
  /** things that are allowed but probably not meant (printed by `config check`, logged by `run`) */
  warnings: string[];
}

const isDevicePath = (p: unknown): p is string => typeof p === 'string' && !p.startsWith('tcp://');

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** What `run` needs of this machine: the fans' hwmon folder, the boards' devices, writable folders. */
export function hostIssues(c: Partial<Config>, source: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const fans = c.fans;
  if (fans && typeof fans.count === 'number' && fans.count > 0 && typeof fans.hwmon === 'string' && !isDir(fans.hwmon))
    out.push({
      source,
      path: 'fans.hwmon',
      message: `folder ${fans.hwmon} not found; give the fans' hwmon folder (ls /sys/class/hwmon/*/pwm1), or fans.count = 0`,
    });
  if (Array.isArray(c.chains))
    c.chains.forEach((ch, i) => {
      if (ch?.enabled === false) return;
      for (const key of ['uart', 'spi'] as const) {
        const dev = ch?.[key];
        if (isDevicePath(dev) && !existsSync(dev))
          out.push({ source, path: `chains[${i}].${key}`, message: `device ${dev} not found` });
      }
    });
  const d = c.daemon;
  for (const key of ['state_dir', 'lock_dir'] as const) {
    const dir = d?.[key];
    if (typeof dir !== 'string') continue;
    if (existsSync(dir) && !isDir(dir)) out.push({ source, path: `daemon.${key}`, message: `${dir} is not a folder` });
  }
  return out;
}

export function configWarnings(c: Config): string[] {
  const out: string[] = [];
  const chains = c.chains.filter((x) => x.enabled).length;
  if (c.pools.length === 0 && chains === 0) out.push('no pools and no enabled chains: the daemon has nothing to do');
  else if (c.pools.length === 0) out.push('no pools: the boards will wait for work; add one with POST /api/v1/pools');
  else if (chains === 0) out.push('no enabled chains: nothing will mine');
  return out;
}

/**
 * The one validation `asicd config check` and `asicd run` share: the file, its environment overrides, the cross-field
 * rules and what the machine must have, every problem in one ConfigError.
 */
export function checkConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): CheckResult {
  const doc = readConfigDocument(file);
  const issues: ConfigIssue[] = [];
  let config: Config | undefined;
  try {
    config = validateConfig(doc, file, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
  }
  const seen = config ?? (Value.Default(ConfigSchema, structuredClone(doc)) as Partial<Config>);
  for (const i of hostIssues(seen, file)) if (!issues.some((x) => x.path === i.path)) issues.push(i);
  if (issues.length || !config) throw new ConfigError(issues);
  return { config, warnings: configWarnings(config) };
}
