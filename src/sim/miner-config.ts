import { join } from 'node:path';

/**
 * A daemon config (as plain TOML data) for boards on the simulator: one pool, every board, the simulated fans,
 * state and locks inside `dir`. `extra` sections add to the defaults (a table's keys over the default table's, anything
 * else replaces). Used by the demo, tests and benches.
 */
export function simMinerConfig(o: {
  dir: string;
  boards: { uart: string; spi: string }[];
  hwmon: string;
  fans: number;
  chips: number;
  pool: { url: string; user: string; password?: string };
  extra?: Record<string, unknown>;
}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    log: { level: 'info', stats_interval_s: 0 },
    daemon: { state_dir: join(o.dir, 'state'), lock_dir: join(o.dir, 'lock') },
    pools: [{ password: 'x', ...o.pool }],
    chains: o.boards.map((b) => ({ uart: b.uart, spi: b.spi, chips: o.chips, frequency_mhz: 400 })),
    fans: { hwmon: o.hwmon, count: o.fans },
  };
  for (const [k, v] of Object.entries(o.extra ?? {}))
    base[k] = isTable(base[k]) && isTable(v) ? { ...base[k], ...v } : v;
  return base;
}

const isTable = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
