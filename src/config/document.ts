import type { TSchema } from '@sinclair/typebox';
import { stringify } from 'smol-toml';
import { ConfigSchema, isArraySchema, isObjectSchema } from './schema.js';

// Both renderings below walk the schema, so the default file and the docs cannot drift from validation.

function rule(s: TSchema): string {
  const parts: string[] = [];
  if (s.anyOf) parts.push(`one of ${(s.anyOf as TSchema[]).map((b) => JSON.stringify(b.const)).join(', ')}`);
  else if (s.type === 'integer' || s.type === 'number') {
    const kind = s.type === 'integer' ? 'integer' : 'number';
    if (s.minimum !== undefined && s.maximum !== undefined) parts.push(`${kind} ${s.minimum}–${s.maximum}`);
    else if (s.minimum !== undefined) parts.push(`${kind} ≥ ${s.minimum}`);
    else parts.push(kind);
  } else if (s.type === 'string' && s.pattern) parts.push(`string matching ${s.pattern}`);
  else if (typeof s.type === 'string') parts.push(s.type);
  return parts.join('; ');
}

function tomlValue(v: unknown): string {
  // smol-toml renders a whole document; take the right-hand side of a one-key table.
  const line = stringify({ v }).trim();
  return line.slice(line.indexOf('=') + 1).trim();
}

/** A complete, commented default config file. */
export function defaultToml(): string {
  const out: string[] = [
    '# asicd configuration. Every setting with its default; generated from the schema by `asicd config defaults`.',
    '# Environment variables ASICD_<SECTION>_<KEY> override scalars (ASICD_API_PORT=9090, ASICD_POOLS_0_PASSWORD=…).',
    '',
  ];
  for (const [section, s] of Object.entries(ConfigSchema.properties as Record<string, TSchema>)) {
    if (isObjectSchema(s)) {
      out.push(`# ${s.description ?? ''}`, `[${section}]`);
      const tables: [string, TSchema & { properties: Record<string, TSchema> }][] = [];
      for (const [key, p] of Object.entries(s.properties)) {
        if (isObjectSchema(p)) tables.push([key, p]);
        else out.push(`# ${p.description ?? ''} (${rule(p)})`, `${key} = ${tomlValue(p.default)}`);
      }
      out.push('');
      // tables inside a section ([alerts.chip_temp]) come after its plain keys, as TOML requires
      for (const [key, t] of tables) {
        out.push(`# ${t.description ?? ''}`, `[${section}.${key}]`);
        for (const [k, p] of Object.entries(t.properties)) {
          out.push(`# ${p.description ?? ''} (${rule(p)})`, `${k} = ${tomlValue(p.default)}`);
        }
        out.push('');
      }
    } else if (isArraySchema(s)) {
      const item = s.items;
      out.push(`# ${s.description ?? ''} Each [[${section}]] entry: ${item.description ?? ''}`);
      const example = (s.examples as Record<string, unknown>[][] | undefined)?.[0]?.[0] ?? {};
      if (!isObjectSchema(item)) continue;
      out.push(`#[[${section}]]`);
      for (const [key, p] of Object.entries(item.properties)) {
        const v = key in example ? example[key] : p.default;
        const req = p.default === undefined ? 'required' : `default ${tomlValue(p.default)}`;
        out.push(`#   ${p.description ?? ''} (${rule(p)}; ${req})`);
        if (v !== undefined) out.push(`#${key} = ${tomlValue(v)}`);
      }
      out.push('');
    }
  }
  return `${out.join('\n')}\n`;
}

/** docs/configuration.md. */
export function configurationMarkdown(): string {
  const out: string[] = [
    '# Configuration',
    '',
    'Generated from the schema in `src/config/schema.ts` by `npm run docs`; a test fails when this file is stale.',
    '',
    'asicd reads one TOML file (`asicd run --config FILE`, default `/etc/asicd/asicd.toml`). `asicd config defaults`',
    'prints a complete file with every default; `asicd config check FILE` prints every problem at once.',
    '',
    'Every scalar can be overridden by an environment variable `ASICD_` + the path in upper case with `_` between',
    'parts; array entries by index: `ASICD_API_PORT=9090`, `ASICD_POOLS_0_PASSWORD=secret`,',
    '`ASICD_CHAINS_1_FREQUENCY_MHZ=450`. An entry named by index must exist in the file.',
    '',
    'Hardware limits (frequency, voltage, dangerous temperature) cannot be set past the Maijie L7 ratings.',
    '',
  ];
  for (const [section, s] of Object.entries(ConfigSchema.properties as Record<string, TSchema>)) {
    const item = isArraySchema(s) ? s.items : s;
    if (!isObjectSchema(item)) continue;
    const title = isArraySchema(s) ? `[[${section}]]` : `[${section}]`;
    out.push(
      `## \`${title}\``,
      '',
      `${s.description ?? ''}${isArraySchema(s) ? ` ${item.description ?? ''}` : ''}`,
      '',
    );
    out.push('| key | type and range | default | environment | meaning |', '|---|---|---|---|---|');
    for (const [key, p] of flatProperties(item.properties)) {
      const env = isArraySchema(s)
        ? `\`ASICD_${section.toUpperCase()}_<i>_${key.toUpperCase()}\``
        : `\`ASICD_${section.toUpperCase()}_${key.toUpperCase()}\``;
      const def = p.default === undefined ? '*required*' : `\`${tomlValue(p.default)}\``;
      out.push(
        `| \`${key}\` | ${rule(p).replaceAll('|', '\\|')} | ${def} | ${env.replaceAll('.', '_')} | ${p.description ?? ''} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

/** Keys of a section with its tables opened: `chip_temp.for_s` for [alerts.chip_temp] for_s. */
function flatProperties(props: Record<string, TSchema>, prefix = ''): [string, TSchema][] {
  return Object.entries(props).flatMap(([k, p]): [string, TSchema][] =>
    isObjectSchema(p) ? flatProperties(p.properties, `${prefix}${k}.`) : [[`${prefix}${k}`, p]],
  );
}
