// cgminer's API data types and their exact printed forms (api.c: api_add_mhs "%.2f", api_add_diff "%.8f", …).

export type Kind =
  | 'int'
  | 'str'
  | 'esc'
  | 'bool'
  | 'mhs'
  | 'utility'
  | 'mhtotal'
  | 'diff'
  | 'percent'
  | 'temp'
  | 'timeval'
  | 'double';
export type Field = [name: string, kind: Kind, value: number | string | boolean];
export type Section = Field[];

const DECIMALS: Partial<Record<Kind, number>> = {
  mhs: 2,
  utility: 2,
  temp: 2,
  mhtotal: 4,
  percent: 4,
  diff: 8,
  timeval: 6,
  double: 6,
};

function num(kind: Kind, v: number): string {
  const d = DECIMALS[kind];
  if (!Number.isFinite(v)) return d === undefined ? '0' : (0).toFixed(d);
  return d === undefined ? String(Math.trunc(v)) : v.toFixed(d);
}

function jsonValue([, kind, v]: Field): string {
  if (kind === 'str' || kind === 'esc') return JSON.stringify(String(v));
  if (kind === 'bool') return v ? 'true' : 'false';
  return num(kind, Number(v));
}

/** Plain text escapes `,` `|` `=` and `\` in strings that come from outside (api.c escape_string). */
function plainValue([, kind, v]: Field): string {
  if (kind === 'esc') return String(v).replace(/[,|=\\]/g, (c) => `\\${c}`);
  if (kind === 'str') return String(v);
  if (kind === 'bool') return v ? 'true' : 'false';
  return num(kind, Number(v));
}

export function sectionJson(s: Section): string {
  return `{${s.map((f) => `${JSON.stringify(f[0])}:${jsonValue(f)}`).join(',')}}`;
}

/** A plain-text section: `NAME,k=v,…|`, or just `k=v,…|` for the STATUS section. */
export function sectionPlain(name: string | undefined, s: Section): string {
  const fields = s.map((f) => `${f[0]}=${plainValue(f)}`);
  return `${(name ? [name, ...fields] : fields).join(',')}|`;
}

export interface Reply {
  status: Section;
  /** the data array's name (SUMMARY, POOLS, …) and its rows; absent for status-only replies */
  name?: string;
  rows?: Section[];
}

export function replyJson(r: Reply): string {
  const parts = [`"STATUS":[${sectionJson(r.status)}]`];
  if (r.name && r.rows) parts.push(`${JSON.stringify(r.name)}:[${r.rows.map(sectionJson).join(',')}]`);
  return `{${parts.join(',')},"id":1}`;
}

export function replyPlain(r: Reply): string {
  let out = sectionPlain(undefined, r.status);
  if (r.name && r.rows) for (const row of r.rows) out += sectionPlain(r.name, row);
  return out;
}
