import { rmSync } from 'node:fs';
import net from 'node:net';
import { CgminerApi } from '../../src/api/cgminer.js';
import { ApiServer } from '../../src/api/server.js';
import { buildComponents } from '../../src/components.js';
import { ConfigStore } from '../../src/config/store.js';
import { Daemon } from '../../src/daemon.js';
import type { SimulatorOptions } from '../../src/sim/board/simulator.js';
import { memoryLogger } from './log.js';
import { atFileEnd, once } from './proc.js';
import { simFiles } from './sim-files.js';

/**
 * A port free now, for a server a test starts later. Picked below the kernel's ephemeral range (32768 and up on
 * Linux): a port the kernel handed out for a moment (port 0) is soon handed out again as the local end of some other
 * test's outgoing connection, and the server's listen then fails with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const s = net.createServer();
    const ok = await new Promise<boolean>((r) => {
      s.once('error', () => r(false));
      s.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise((r) => s.close(r));
      return port;
    }
    if (attempt > 200) throw new Error('no free port between 20000 and 32000');
  }
}

/** The real daemon (config file, Daemon, every component) in this process, on the simulator and a test pool. */
export async function startDaemon(
  extra: Record<string, unknown> = {},
  simOptions: Partial<SimulatorOptions> = {},
  /** ASICD_* overrides, read as the daemon reads its environment */
  env: NodeJS.ProcessEnv = {},
) {
  const {
    dir,
    sim,
    pool,
    file,
    cgPort,
    stop: stopSim,
  } = await simFiles({
    prefix: 'asicd-d-',
    user: 'api.worker',
    password: 'pool-secret-pw',
    extra,
    simOptions,
  });
  const mem = memoryLogger('info');
  const daemon = new Daemon(ConfigStore.open(file, env), file, mem.log, buildComponents);
  try {
    await daemon.start();
  } catch (err) {
    await stopSim();
    throw err;
  }
  const stop = once(async () => {
    await daemon.stop('test done');
    await stopSim();
    rmSync(dir, { recursive: true, force: true });
  });
  void atFileEnd(stop);
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
    base: `http://127.0.0.1:${daemon.store.running.api.port}`,
    cgPort,
    logs: mem.lines,
    stop,
  };
}
