import type { Config } from './schema.js';

/** Setting paths (`section.key`, or `pools` / `chains` as a whole) whose values differ. */
export function changedKeys(prev: Config, next: Config): string[] {
  const out: string[] = [];
  for (const section of Object.keys(next) as (keyof Config)[]) {
    const a = prev[section];
    const b = next[section];
    if (Array.isArray(b) || Array.isArray(a)) {
      if (JSON.stringify(a) !== JSON.stringify(b)) out.push(section);
      continue;
    }
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    for (const key of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
      if (JSON.stringify(ao[key]) !== JSON.stringify(bo[key])) out.push(`${section}.${key}`);
    }
  }
  return out;
}
