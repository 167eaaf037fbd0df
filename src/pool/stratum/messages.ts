// Parsing of what a pool sends: every field checked, every failure a reason a user can act on. Nothing here throws.

export type RpcId = number | string | null;

export interface RpcRequest {
  kind: 'request';
  id: RpcId;
  method: string;
  params: unknown[];
}

export interface RpcResponse {
  kind: 'response';
  id: number | string;
  result: unknown;
  error: unknown;
}

export type Parsed = RpcRequest | RpcResponse | { kind: 'invalid'; reason: string };

export function parseLine(line: string): Parsed {
  // what cannot be a JSON object is refused without JSON.parse: a thrown SyntaxError per junk line is costly garbage
  if (!/^\s*\{/.test(line)) return { kind: 'invalid', reason: `not a JSON-RPC object: ${preview(line)}` };
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return { kind: 'invalid', reason: `not JSON: ${preview(line)}` };
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    return { kind: 'invalid', reason: `not a JSON-RPC object: ${preview(line)}` };
  }
  const o = msg as Record<string, unknown>;
  const id = o.id;
  if (id !== undefined && id !== null && typeof id !== 'number' && typeof id !== 'string') {
    return { kind: 'invalid', reason: `id must be a number, string or null, got ${typeof id}` };
  }
  if (typeof o.method === 'string') {
    const params = o.params === undefined || o.params === null ? [] : o.params;
    if (!Array.isArray(params)) return { kind: 'invalid', reason: `${o.method}: params must be an array` };
    return { kind: 'request', id: (id as RpcId | undefined) ?? null, method: o.method, params };
  }
  if (o.method !== undefined) return { kind: 'invalid', reason: 'method must be a string' };
  if (id === undefined || id === null) return { kind: 'invalid', reason: 'a response without an id' };
  return { kind: 'response', id: id as number | string, result: o.result, error: o.error ?? null };
}

export function preview(s: string, n = 80): string {
  const p = s.length > n ? `${s.slice(0, n)}…` : s;
  return JSON.stringify(p);
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

export function isHex(v: unknown, bytes?: number): v is string {
  return typeof v === 'string' && HEX.test(v) && (bytes === undefined || v.length === bytes * 2);
}

export interface NotifyParams {
  jobId: string;
  prevHash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
  version: number;
  nbits: number;
  ntime: number;
  cleanJobs: boolean;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

export function checkNotify(p: unknown[]): Checked<NotifyParams> {
  if (p.length < 9) return { ok: false, reason: `mining.notify: expected 9 params, got ${p.length}` };
  const [jobId, prevHash, coinb1, coinb2, branch, version, nbits, ntime, clean] = p;
  if (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > 128) {
    return { ok: false, reason: 'mining.notify: job_id must be a non-empty string' };
  }
  if (!isHex(prevHash, 32)) return { ok: false, reason: 'mining.notify: prevhash must be 64 hex digits' };
  if (!isHex(coinb1) || !isHex(coinb2)) return { ok: false, reason: 'mining.notify: coinb1/coinb2 must be hex' };
  if (!Array.isArray(branch) || branch.length > 64 || !branch.every((b) => isHex(b, 32))) {
    return { ok: false, reason: 'mining.notify: merkle_branch must be an array of 64-hex-digit hashes' };
  }
  for (const [name, v] of [
    ['version', version],
    ['nbits', nbits],
    ['ntime', ntime],
  ] as const) {
    if (!isHex(v, 4)) return { ok: false, reason: `mining.notify: ${name} must be 8 hex digits` };
  }
  if (typeof clean !== 'boolean') return { ok: false, reason: 'mining.notify: clean_jobs must be true or false' };
  return {
    ok: true,
    value: {
      jobId,
      prevHash: prevHash as string,
      coinb1: coinb1 as string,
      coinb2: coinb2 as string,
      merkleBranch: branch as string[],
      version: Number.parseInt(version as string, 16) >>> 0,
      nbits: Number.parseInt(nbits as string, 16) >>> 0,
      ntime: Number.parseInt(ntime as string, 16) >>> 0,
      cleanJobs: clean,
    },
  };
}

/** Difficulties we accept from a pool: finite, positive, within what a target can express. */
export function checkDifficulty(p: unknown[]): Checked<number> {
  const d = p[0];
  if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0 || d > 2 ** 64) {
    return { ok: false, reason: `mining.set_difficulty: expected a number above 0, got ${JSON.stringify(d)}` };
  }
  return { ok: true, value: d };
}

export function checkExtranonce(en1: unknown, size: unknown, where: string): Checked<{ en1: Buffer; size: number }> {
  if (!isHex(en1) || (en1 as string).length > 64) return { ok: false, reason: `${where}: extranonce1 must be hex` };
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 16) {
    return { ok: false, reason: `${where}: extranonce2 size must be 1–16, got ${JSON.stringify(size)}` };
  }
  return { ok: true, value: { en1: Buffer.from(en1 as string, 'hex'), size } };
}

export function checkVersionMask(v: unknown, where: string): Checked<number> {
  if (!isHex(v, 4)) return { ok: false, reason: `${where}: version mask must be 8 hex digits` };
  return { ok: true, value: Number.parseInt(v as string, 16) >>> 0 };
}

/** A pool's reject reason in any of the forms seen: [code, msg, data], {code, message}, or a string. */
export function rejectReason(error: unknown): string {
  if (error === null || error === undefined) return 'rejected';
  if (typeof error === 'string') return error;
  if (Array.isArray(error)) {
    const [code, msg] = error;
    return typeof msg === 'string'
      ? code !== undefined && code !== null
        ? `${msg} (${code})`
        : msg
      : JSON.stringify(error);
  }
  if (typeof error === 'object') {
    const e = error as { code?: unknown; message?: unknown };
    if (typeof e.message === 'string') return e.code !== undefined ? `${e.message} (${String(e.code)})` : e.message;
  }
  return JSON.stringify(error);
}
