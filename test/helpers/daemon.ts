import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { CgminerApi } from '../../src/api/cgminer.js';
import { ApiServer } from '../../src/api/server.js';
import { buildComponents } from '../../src/components.js';
import { loadConfigFile } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { Simulator, type SimulatorOptions } from '../../src/sim/board/simulator.js';
import { simMinerConfig } from '../../src/sim/miner-config.js';
import { TestPool } from '../../src/sim/pool/server.js';
import { memoryLogger } from './log.js';
import { tempDir } from './proc.js';

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The real daemon (config file, Daemon, every component) in this process, on the simulator and a test pool. */
export async function startDaemon(extra: Record<string, unknown> = {}, simOptions: Partial<SimulatorOptions> = {}) {
  const dir = tempDir('asicd-d-');
  const sim = new Simulator({
    boards: 2,
    chips: 8,
    seed: 5,
    scaleShift: 27,
    link: 'tcp',
    dir,
    fans: 2,
    controlPort: 0,
    ...simOptions,
  });
  await sim.start();
  const pool = new TestPool({ difficulty: 2e-6 });
  await pool.start();
  const apiPort = await freePort();
  const cgPort = await freePort();
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
        pool: { url: pool.url, user: 'api.worker', password: 'pool-secret-pw' },
        extra: { ...extra, api: { port: apiPort, cgminer_port: cgPort, ...((extra.api as object) ?? {}) } },
      }),
    ),
  );
  const mem = memoryLogger('info');
  const daemon = new Daemon(loadConfigFile(file), file, mem.log, buildComponents);
  await daemon.start();
  const api = daemon.running.find((c): c is ApiServer => c instanceof ApiServer);
  const cg = daemon.running.find((c): c is CgminerApi => c instanceof CgminerApi);
  if (!api?.app || !cg) throw new Error('API components missing');
  return {
    dir,
    file,
    sim,
    pool,
    daemon,
    api,
    app: api.app,
    cg,
    base: `http://127.0.0.1:${apiPort}`,
    cgPort,
    logs: mem.lines,
    stop: async () => {
      await daemon.stop('test done');
      await pool.stop();
      await sim.stop();
    },
  };
}
