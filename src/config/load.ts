import { readFileSync } from 'node:fs';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseToml, TomlError } from 'smol-toml';
import { parseAllow } from './networks.js';
import { type Config, ConfigSchema, isArraySchema, isObjectSchema } from './schema.js';

export interface ConfigIssue {
  /** File (or environment variable) the problem is in. */
  source: string;
  /** Key path such as `pools[1].url`; empty for the whole file. */
  path: string;
  message: string;
  line?: number;
  column?: number;
  /** other settings the rule involves (one set in the environment takes the blame) */
  related?: string[];
}

export class ConfigError extends Error {
  readonly code = 'ECONFIG';
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.line !== undefined ? `${i.source}:${i.line}:${i.column ?? 1}` : i.source;
  return `${where}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/** Reads, parses and validates a config file; throws ConfigError with every problem found. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  return validateConfig(readConfigDocument(file), file, env);
}

/** Reads and parses a config file as written (no defaults, no environment); throws ConfigError. */
export function readConfigDocument(file: string): unknown {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT'
        ? 'file not found; create one with `asicd config defaults > FILE`'
        : e.code === 'EACCES'
          ? 'permission denied; run as a user that can read it'
          : e.code === 'EISDIR'
            ? 'is a directory; give the path of a .toml file'
            : `cannot read (${e.code ?? e.message})`;
    throw new ConfigError([{ source: file, path: '', message: why }]);
  }
  return parseConfigDocument(buf, file);
}

export function parseConfigText(buf: Buffer | string, source: string, env: NodeJS.ProcessEnv = {}): Config {
  return validateConfig(parseConfigDocument(buf, source), source, env);
}

function parseConfigDocument(buf: Buffer | string, source: string): unknown {
  const text = typeof buf === 'string' ? buf : buf.toString('utf8');
  if (text.trim() === '') {
    throw new ConfigError([
      { source, path: '', message: 'file is empty; start from `asicd config defaults`, which lists every setting' },
    ]);
  }
  if (text.includes('\u0000') || text.includes('\uFFFD')) {
    throw new ConfigError([{ source, path: '', message: 'not a text file (binary or not UTF-8); expected TOML' }]);
  }
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0] ?? err.message;
      throw new ConfigError([
        { source, path: '', message: `TOML syntax error: ${first}`, line: err.line, column: err.column },
      ]);
    }
    throw err;
  }
  return raw;
}

/** Validates a plain object (from TOML or an API patch), applying environment overrides and defaults. */
export function validateConfig(raw: unknown, source: string, env: NodeJS.ProcessEnv = {}): Config {
  const issues: ConfigIssue[] = [];
  const value = structuredClone(raw) as Record<string, unknown>;
  applyEnvOverrides(value, env, issues);
  findUnknownKeys(ConfigSchema, value, '', source, issues);
  const withDefaults = Value.Default(ConfigSchema, value) as unknown;
  for (const e of Value.Errors(ConfigSchema, withDefaults)) {
    const path = pointerToPath(e.path);
    if (issues.some((i) => i.path === path)) continue;
    const custom = typeof e.schema.errorMessage === 'string' ? e.schema.errorMessage : undefined;
    issues.push({ source, path, message: custom ?? describeRule(e.schema, e.message, e.value) });
  }
  // cross-field rules run on whatever has the right types, so every problem is reported in one pass
  const crossIssues: ConfigIssue[] = [];
  crossChecks(withDefaults as Config, source, crossIssues);
  for (const i of crossIssues) if (!issues.some((x) => x.path === i.path)) issues.push(i);
  blameEnvironment(issues, source, env);
  if (issues.length > 0) throw new ConfigError(issues);
  return withDefaults as Config;
}

function describeValue(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'a table';
  return JSON.stringify(v);
}

function describeRule(schema: TSchema, fallback: string, value: unknown): string {
  const got = value === undefined ? 'missing' : `got ${JSON.stringify(value)}`;
  if (schema.type === 'integer' || schema.type === 'number') {
    const kind = schema.type === 'integer' ? 'a whole number' : 'a number';
    const lo = schema.minimum;
    const hi = schema.maximum;
    if (lo !== undefined && hi !== undefined) return `expected ${kind} from ${lo} to ${hi}, ${got}`;
    if (lo !== undefined) return `expected ${kind} of at least ${lo}, ${got}`;
    return `expected ${kind}, ${got}`;
  }
  if (schema.type === 'boolean') return `expected true or false, ${got}`;
  if (schema.type === 'string') {
    if (value === undefined) return 'required; add it';
    if (typeof value !== 'string') return `expected a string, ${got}`;
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength)
      return `at most ${schema.maxLength} characters, got ${value.length}`;
    if (schema.minLength) return `must not be empty`;
  }
  if (schema.type === 'array') return `expected an array (${fallback}), ${got}`;
  if (schema.type === 'object') return `expected a table, ${got}`;
  return `${fallback}, ${got}`;
}

function pointerToPath(pointer: string): string {
  let out = '';
  for (const part of pointer.split('/').slice(1)) {
    if (/^[0-9]+$/.test(part)) out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

function joinPath(base: string, key: string | number): string {
  return typeof key === 'number' ? `${base}[${key}]` : base ? `${base}.${key}` : key;
}

/**
 * Walks the file as written, before defaults: unknown keys, and tables or arrays given as something else (defaults
 * would otherwise replace `[pools]` written for `[[pools]]`, or `thermal = 5`, without a word).
 */
function findUnknownKeys(schema: TSchema, value: unknown, path: string, source: string, out: ConfigIssue[]): void {
  if (value === undefined) return;
  const isTable = value !== null && typeof value === 'object' && !Array.isArray(value);
  if (isObjectSchema(schema) && !isTable) {
    const hint = Array.isArray(value) ? ` (write [${path}], not [[${path}]])` : '';
    out.push({ source, path, message: `expected a table${hint}, got ${describeValue(value)}` });
    return;
  }
  if (isArraySchema(schema) && !Array.isArray(value)) {
    const hint = isTable && isObjectSchema(schema.items) ? ` (write [[${path}]] for each entry, not [${path}])` : '';
    out.push({ source, path, message: `expected an array${hint}, got ${describeValue(value)}` });
    return;
  }
  if (isObjectSchema(schema) && isTable) {
    const known = Object.keys(schema.properties);
    for (const [key, v] of Object.entries(value)) {
      const sub = schema.properties[key];
      if (!sub) {
        const near = closest(key, known);
        out.push({
          source,
          path: joinPath(path, key),
          message: `unknown key${near ? `; did you mean "${near}"?` : `; known keys: ${known.join(', ')}`}`,
        });
        continue;
      }
      findUnknownKeys(sub, v, joinPath(path, key), source, out);
    }
  } else if (isArraySchema(schema) && Array.isArray(value)) {
    value.forEach((v, i) => {
      findUnknownKeys(schema.items, v, joinPath(path, i), source, out);
    });
  }
}

export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * ASICD_<SECTION>_<KEY>=value overrides a scalar, e.g. ASICD_LOG_LEVEL=debug, ASICD_API_PORT=9090,
 * ASICD_POOLS_0_PASSWORD=secret (arrays by index; the entry must exist in the file).
 */
export function applyEnvOverrides(value: Record<string, unknown>, env: NodeJS.ProcessEnv, out: ConfigIssue[]): void {
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('ASICD_') || text === undefined) continue;
    if (name === 'ASICD_CONFIG') continue;
    const source = `environment variable ${name}`;
    const rest = name.slice('ASICD_'.length).toLowerCase();
    const hit = resolveEnvPath(ConfigSchema, rest);
    if (!hit) {
      out.push({ source, path: '', message: 'names no setting; see docs/configuration.md for the ASICD_ names' });
      continue;
    }
    const coerced = coerceScalar(hit.schema, text);
    if (coerced === undefined) {
      out.push({
        source,
        path: hit.path.join('.'),
        message: `cannot read ${JSON.stringify(text)} as ${hit.schema.type}`,
      });
      continue;
    }
    let node: Record<string, unknown> | unknown[] = value;
    let ok = true;
    for (let i = 0; i < hit.path.length - 1; i++) {
      const key = hit.path[i];
      const cur = (node as Record<string | number, unknown>)[key];
      if (cur === undefined && typeof key === 'string' && typeof hit.path[i + 1] === 'string') {
        (node as Record<string | number, unknown>)[key] = {};
      } else if (cur === undefined || typeof cur !== 'object' || cur === null) {
        const entry = typeof key === 'number' ? `${hit.path[i - 1]} entry ${key}` : `${key} entry`;
        out.push({ source, path: hit.path.join('.'), message: `the file has no ${entry} to override` });
        ok = false;
        break;
      }
      node = (node as Record<string | number, unknown>)[key] as Record<string, unknown>;
    }
    if (ok) (node as Record<string | number, unknown>)[hit.path[hit.path.length - 1]] = coerced;
  }
}

/** The setting paths the environment overrides (ASICD_* names that name a setting). */
export function envOverridePaths(env: NodeJS.ProcessEnv): (string | number)[][] {
  const out: (string | number)[][] = [];
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('ASICD_') || text === undefined || name === 'ASICD_CONFIG') continue;
    const hit = resolveEnvPath(ConfigSchema, name.slice('ASICD_'.length).toLowerCase());
    if (hit) out.push(hit.path);
  }
  return out;
}

function resolveEnvPath(schema: TSchema, rest: string): { path: (string | number)[]; schema: TSchema } | undefined {
  if (isObjectSchema(schema)) {
    // Longest key first so that `fallback_time_s` wins over a shorter prefix.
    const keys = Object.keys(schema.properties).sort((a, b) => b.length - a.length);
    for (const key of keys) {
      const sub = schema.properties[key];
      if (rest === key && !isObjectSchema(sub) && !isArraySchema(sub)) return { path: [key], schema: sub };
      if (rest.startsWith(`${key}_`)) {
        const inner = resolveEnvPath(sub, rest.slice(key.length + 1));
        if (inner) return { path: [key, ...inner.path], schema: inner.schema };
      }
    }
  } else if (isArraySchema(schema)) {
    const m = /^([0-9]+)_(.+)$/.exec(rest);
    if (m) {
      const inner = resolveEnvPath(schema.items, m[2]);
      if (inner) return { path: [Number(m[1]), ...inner.path], schema: inner.schema };
    }
  }
  return undefined;
}

function coerceScalar(schema: TSchema, text: string): unknown {
  const isBool = schema.type === 'boolean';
  const isNum = schema.type === 'number' || schema.type === 'integer';
  if (isBool) {
    if (/^(true|1|yes|on)$/i.test(text)) return true;
    if (/^(false|0|no|off)$/i.test(text)) return false;
    return undefined;
  }
  if (isNum) {
    if (text.trim() === '') return undefined;
    const n = Number(text);
    return Number.isFinite(n) ? n : undefined;
  }
  return text;
}

/** Where a value came from the environment, the problem is the environment variable's, not the file's. */
function blameEnvironment(issues: ConfigIssue[], source: string, env: NodeJS.ProcessEnv): void {
  const byPath = new Map<string, string>();
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('ASICD_') || text === undefined || name === 'ASICD_CONFIG') continue;
    const hit = resolveEnvPath(ConfigSchema, name.slice('ASICD_'.length).toLowerCase());
    if (hit)
      byPath.set(
        hit.path.reduce<string>((a, k) => joinPath(a, k), ''),
        name,
      );
  }
  for (const i of issues) {
    if (i.source !== source) continue;
    const name = [i.path, ...(i.related ?? [])].map((p) => byPath.get(p)).find((n) => n !== undefined);
    if (name) {
      i.source = `environment variable ${name}`;
      delete i.line;
      delete i.column;
    }
  }
  for (const i of issues) delete i.related;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function crossChecks(c: Config, source: string, out: ConfigIssue[]): void {
  const t = (c.thermal ?? {}) as Partial<Config['thermal']>;
  if (isNum(t.target_c) && isNum(t.hot_c) && !(t.target_c < t.hot_c)) {
    out.push({
      source,
      path: 'thermal.target_c',
      message: `must be below thermal.hot_c (${t.hot_c})`,
      related: ['thermal.hot_c'],
    });
  }
  if (isNum(t.hot_c) && isNum(t.dangerous_c) && !(t.hot_c < t.dangerous_c)) {
    out.push({
      source,
      path: 'thermal.hot_c',
      message: `must be below thermal.dangerous_c (${t.dangerous_c})`,
      related: ['thermal.dangerous_c'],
    });
  }
  const f = (c.fans ?? {}) as Partial<Config['fans']>;
  if (isNum(f.min_working) && isNum(f.count) && f.min_working > f.count) {
    out.push({
      source,
      path: 'fans.min_working',
      message: `must not exceed fans.count (${f.count}); set 0 only where the boards are cooled otherwise`,
      related: ['fans.count'],
    });
  }
  const api = (c.api ?? {}) as Partial<Config['api']>;
  if (typeof api.cgminer_allow === 'string') {
    try {
      parseAllow(api.cgminer_allow);
    } catch (err) {
      out.push({
        source,
        path: 'api.cgminer_allow',
        message: `${(err as Error).message}; expected [W:|R:]address[/bits],…`,
      });
    }
  }
  if (
    api.enabled !== false &&
    api.cgminer_enabled !== false &&
    isNum(api.port) &&
    api.port === api.cgminer_port &&
    api.host === api.cgminer_host
  ) {
    out.push({
      source,
      path: 'api.cgminer_port',
      message: `is also api.port (${api.port}); give each API its own port`,
    });
  }
  if (Array.isArray(c.pools)) {
    c.pools.forEach((p, i) => {
      const m = typeof p?.url === 'string' ? /:([0-9]{1,5})$/.exec(p.url) : null;
      if (m && (Number(m[1]) < 1 || Number(m[1]) > 65535))
        out.push({ source, path: `pools[${i}].url`, message: `port ${Number(m[1])} is not a TCP port (1-65535)` });
    });
  }
  if (!Array.isArray(c.chains)) return;
  const seen = new Map<string, number>();
  c.chains.forEach((ch, i) => {
    for (const dev of [ch?.uart, ch?.spi]) {
      if (typeof dev !== 'string') continue;
      const prev = seen.get(dev);
      if (prev !== undefined) {
        out.push({ source, path: `chains[${i}]`, message: `${dev} is already used by chains[${prev}]` });
      }
      seen.set(dev, i);
    }
  });
}
