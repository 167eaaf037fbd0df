import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { Miner } from '../../src/miner.js';
import { Simulator } from '../../src/sim/board/simulator.js';
import { TestPool, type TestPoolOptions } from '../../src/sim/pool/server.js';
import type { Component } from '../../src/util/lifecycle.js';
import { memoryLogger } from './log.js';
import { atFileEnd, once, tempDir } from './proc.js';

export interface Rig {
  sim: Simulator;
  pools: TestPool[];
  miner: Miner;
  configFile: string | undefined;
  stop: () => Promise<void>;
}

/**
 * The real mining stack in one process: the simulator on tcp:// links, several test pools, and the miner's own
 * components (pool manager, chain controllers, fans) wired as the daemon wires them.
 */
export async function startRig(o: {
  boards?: number;
  chips?: number;
  scaleShift?: number;
  pools: TestPoolOptions[];
  pool?: Partial<Config['pool']>;
  poolEntries?: Record<string, unknown>[];
  configFile?: string;
  /** the simulator models job exhaustion at real speed */
  exhaustion?: boolean;
}): Promise<Rig> {
  const dir = tempDir('asicd-rig-');
  const sim = new Simulator({
    boards: o.boards ?? 1,
    chips: o.chips ?? 16,
    seed: 3,
    scaleShift: o.scaleShift ?? 27,
    link: 'tcp',
    dir,
    fans: 2,
    controlPort: 0,
    exhaustion: o.exhaustion,
  });
  await sim.start();
  const pools = o.pools.map((p) => new TestPool({ notifyIntervalMs: 5000, ...p }));
  for (const p of pools) await p.start();
  const config = validateConfig(
    {
      daemon: { state_dir: `${dir}/state`, lock_dir: `${dir}/lock` },
      pool: { ...o.pool },
      pools: pools.map((p, i) => ({ url: p.url, user: `w${i}`, priority: i, ...(o.poolEntries?.[i] ?? {}) })),
      chains: sim.info().map((b) => ({ uart: b.uart, spi: b.spi, chips: o.chips ?? 16, frequency_mhz: 400 })),
      fans: { hwmon: sim.hwmonDir, count: 2 },
    },
    'rig',
  );
  const { log } = memoryLogger('warn');
  const miner = new Miner(config, o.configFile, log);
  const comps: Component[] = miner.components();
  for (const c of comps) await c.start();
  const stop = once(async () => {
    for (const c of [...comps].reverse()) await c.stop();
    for (const p of pools) await p.stop();
    await sim.stop();
  });
  void atFileEnd(stop);
  return { sim, pools, miner, configFile: o.configFile, stop };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean, ms: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
  return Date.now() - t0;
}
