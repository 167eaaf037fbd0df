import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.js';
import { type Logger, registerSecret } from '../util/log.js';

export type Role = 'admin' | 'operator' | 'viewer';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

interface StoredToken {
  id: string;
  name: string;
  role: Role;
  /** sha256 of the token: tokens are 32 random bytes, so a fast hash is enough and nothing reversible is kept */
  hash: string;
  createdAt: string;
  lastUsedAt?: string;
}

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  lastUsedAt?: string;
}

export interface Caller {
  id: string;
  name: string;
  role: Role;
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * API tokens: stored hashed in `<state_dir>/tokens.json` (0600, written atomically), shown once at creation.
 * On first start an admin token is written to `<state_dir>/admin.token` (0600).
 */
export class TokenStore {
  private tokens: StoredToken[] = [];
  private readonly file: string;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    this.file = join(dir, 'tokens.json');
  }

  load(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (existsSync(this.file)) {
      const raw = JSON.parse(readFileSync(this.file, 'utf8')) as { tokens?: StoredToken[] };
      this.tokens = Array.isArray(raw.tokens) ? raw.tokens : [];
    }
    if (!this.tokens.some((t) => t.role === 'admin')) {
      const { token } = this.create('first admin', 'admin');
      const path = join(this.dir, 'admin.token');
      writeFileAtomic(path, `${token}\n`, 0o600);
      this.log.warn({ path }, 'created the first admin API token; read it from this file (mode 0600)');
    }
  }

  private save(): void {
    writeFileAtomic(this.file, `${JSON.stringify({ tokens: this.tokens }, null, 2)}\n`, 0o600);
  }

  create(name: string, role: Role): { token: string; info: TokenInfo } {
    const token = `asicd_${randomBytes(32).toString('base64url')}`;
    registerSecret(token);
    const t: StoredToken = {
      id: randomBytes(6).toString('hex'),
      name,
      role,
      hash: hashOf(token),
      createdAt: new Date().toISOString(),
    };
    this.tokens.push(t);
    this.save();
    return { token, info: this.info(t) };
  }

  revoke(id: string): boolean {
    const before = this.tokens.length;
    const target = this.tokens.find((t) => t.id === id);
    if (target?.role === 'admin' && this.tokens.filter((t) => t.role === 'admin').length === 1) {
      throw new Error('cannot revoke the last admin token');
    }
    this.tokens = this.tokens.filter((t) => t.id !== id);
    if (this.tokens.length !== before) this.save();
    return this.tokens.length !== before;
  }

  list(): TokenInfo[] {
    return this.tokens.map((t) => this.info(t));
  }

  private info(t: StoredToken): TokenInfo {
    return { id: t.id, name: t.name, role: t.role, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt };
  }

  verify(token: string): Caller | undefined {
    const h = Buffer.from(hashOf(token), 'hex');
    for (const t of this.tokens) {
      const stored = Buffer.from(t.hash, 'hex');
      if (stored.length === h.length && timingSafeEqual(stored, h)) {
        t.lastUsedAt = new Date().toISOString();
        return { id: t.id, name: t.name, role: t.role };
      }
    }
    return undefined;
  }
}

/** Failed authentication attempts per client address: after `max` in `windowMs` the address waits `windowMs`. */
export class FailureLimiter {
  private readonly fails = new Map<string, number[]>();

  constructor(
    private readonly max = 5,
    private readonly windowMs = 60_000,
  ) {}

  blocked(ip: string): boolean {
    const now = Date.now();
    const list = (this.fails.get(ip) ?? []).filter((t) => now - t < this.windowMs);
    this.fails.set(ip, list);
    return list.length >= this.max;
  }

  fail(ip: string): void {
    const list = this.fails.get(ip) ?? [];
    list.push(Date.now());
    this.fails.set(ip, list);
    if (this.fails.size > 10_000) this.fails.clear();
  }
}

export interface AuditEntry {
  who: string;
  role: Role | 'none';
  ip: string;
  action: string;
  target?: string;
  result: string;
}

/** Every write, as one JSON line in `<state_dir>/audit.log`. */
export class AuditLog {
  private readonly file: string;

  constructor(dir: string) {
    this.file = join(dir, 'audit.log');
  }

  record(e: AuditEntry): void {
    appendFileSync(this.file, `${JSON.stringify({ at: new Date().toISOString(), ...e })}\n`, { mode: 0o600 });
  }

  recent(n: number): Record<string, unknown>[] {
    if (!existsSync(this.file)) return [];
    const lines = readFileSync(this.file, 'utf8').trim().split('\n').filter(Boolean);
    return lines.slice(-n).map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
