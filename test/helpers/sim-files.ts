import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { Simulator, type SimulatorOptions } from '../../src/sim/board/simulator.js';
import { simMinerConfig } from '../../src/sim/miner-config.js';
import { TestPool } from '../../src/sim/pool/server.js';
import { freePort } from './daemon.js';
import { tempDir } from './proc.js';

export interface SimFilesOptions {
  /** temp folder prefix */
  prefix: string;
  /** the pool worker name */
  user: string;
  boards?: number;
  link?: SimulatorOptions['link'];
  seed?: number;
  /** the pool password written to the config */
  password?: string;
  /** config sections beside the generated ones; `api` is merged with the free ports */
  extra?: Record<string, unknown>;
  /** simulator options over these defaults */
  simOptions?: Partial<SimulatorOptions>;
}

/**
 * What a daemon started as its own process needs: the simulator (8 chips a board, 2 fans), a test pool and a config
 * file in a temp folder, on free ports. `stop` ends the simulator and the pool; register it with `t.teardown`.
 */
export async function simFiles(o: SimFilesOptions) {
  const dir = tempDir(o.prefix);
  const sim = new Simulator({
    boards: o.boards ?? 2,
    chips: 8,
    seed: o.seed ?? 5,
    scaleShift: 27,
    link: o.link ?? 'tcp',
    dir,
    fans: 2,
    controlPort: 0,
    ...o.simOptions,
  });
  await sim.start();
  const pool = new TestPool({ difficulty: 2e-6 });
  await pool.start();
  const apiPort = await freePort();
  const cgPort = await freePort();
  const extra = o.extra ?? {};
  const file = join(dir, 'asicd.toml');
  writeFileSync(
    file,
    stringify(
      simMinerConfig({
        dir,
        boards: sim.info(),
        hwmon: sim.hwmonDir,
        fans: 2,
        chips: 8,
        pool: { url: pool.url, user: o.user, ...(o.password === undefined ? {} : { password: o.password }) },
        extra: { ...extra, api: { port: apiPort, cgminer_port: cgPort, ...((extra.api as object) ?? {}) } },
      }),
    ),
  );
  const stop = async () => {
    await pool.stop();
    await sim.stop();
  };
  return { dir, sim, pool, file, apiPort, cgPort, stop };
}
