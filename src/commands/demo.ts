import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'smol-toml';
import { buildComponents } from '../components.js';
import { Simulator } from '../sim/board/simulator.js';
import { simMinerConfig } from '../sim/miner-config.js';
import { TestPool } from '../sim/pool/server.js';
import { intArg } from './args.js';
import { runDaemon } from './run.js';

function haveSocat(): boolean {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const HELP = `asicd demo — the simulator, the built-in test pool and the daemon on loopback, mining

Options:
  --boards N           hash boards (default 3)
  --chips M            chips per board (default 76)
  --api-port P         REST API, docs page and /metrics (default 8080)
  --cgminer-port P     cgminer-compatible API (default 4028)
  --json               JSON log lines instead of pretty ones

Everything lives in a temp folder (config, state, admin token) that is removed when the demo ends. Stop with
Ctrl-C: the boards are powered off first. If a port is taken, pick others with --api-port / --cgminer-port.
`;

/**
 * One command that shows asicd mining: the simulator (3 boards × 76 chips on pseudo-terminals), the test pool and
 * the daemon, all on loopback, in one process tree.
 */
export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      boards: { type: 'string', default: '3' },
      chips: { type: 'string', default: '76' },
      'api-port': { type: 'string', default: '8080' },
      'cgminer-port': { type: 'string', default: '4028' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let boards: number;
  let chips: number;
  let apiPort: number;
  let cgminerPort: number;
  try {
    boards = intArg('boards', values.boards, 1, 4);
    chips = intArg('chips', values.chips, 1, 256);
    apiPort = intArg('api-port', values['api-port'], 1, 65535);
    cgminerPort = intArg('cgminer-port', values['cgminer-port'], 1, 65535);
  } catch (err) {
    process.stderr.write(`asicd demo: ${(err as Error).message}\n`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'asicd-demo-'));
  // The folder holds the admin token: it must not outlive the demo, whichever way the demo ends.
  try {
    return await demoIn(dir, { boards, chips, apiPort, cgminerPort, json: values.json });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function demoIn(
  dir: string,
  o: { boards: number; chips: number; apiPort: number; cgminerPort: number; json: boolean },
): Promise<number> {
  const { boards, chips, apiPort, cgminerPort } = o;
  const link = haveSocat() ? 'pty' : 'tcp';
  const sim = new Simulator({
    boards,
    chips,
    seed: 1,
    scaleShift: 30,
    link,
    dir,
    fans: 4,
    controlPort: 0,
    // chips run out of work at their real speed: the demo shows whether the daemon keeps them fed
    exhaustion: true,
  });
  await sim.start();
  // ~228 scale-model chips make ~76 kH/s: difficulty 1e-5 gives a share every half second; vardiff keeps ~30/min
  const pool = new TestPool({
    difficulty: 1e-5,
    vardiff: { sharesPerMinute: 30, minDifficulty: 1e-7, maxDifficulty: 1, retargetS: 30 },
    notifyIntervalMs: 30_000,
    newBlockIntervalMs: 600_000,
  });
  try {
    await pool.start();
    const config = simMinerConfig({
      dir,
      boards: sim.info(),
      hwmon: sim.hwmonDir,
      fans: 4,
      chips,
      pool: { url: pool.url, user: 'demo.worker1' },
      extra: {
        log: { level: 'info', pretty: !o.json, stats_interval_s: 15 },
        api: { port: apiPort, cgminer_port: cgminerPort },
      },
    });
    const configFile = join(dir, 'asicd.toml');
    writeFileSync(configFile, stringify(config));
    const banner = [
      '',
      'asicd demo — mining on the simulator with the built-in test pool',
      `  boards:     ${sim.boards.length} × ${chips} chips on ${link === 'pty' ? 'pseudo-terminals (socat)' : 'tcp:// links (install socat for ptys)'}`,
      `  pool:       ${pool.url} (strict test pool; accepted shares are logged as they come)`,
      `  simulator:  ${sim.controlUrl}/oracle (true chip limits, faults: POST ${sim.controlUrl}/fault)`,
      `  REST API:   http://127.0.0.1:${apiPort}/api/v1/summary (docs: /docs, metrics: /metrics)`,
      `  cgminer:    echo -n summary | socat - TCP:127.0.0.1:${cgminerPort}`,
      `  API token:  ${join(dir, 'state', 'admin.token')} (admin; needed for writes)`,
      `  config:     ${configFile}`,
      '  stop:       Ctrl-C (boards are powered off before exit)',
      '',
    ].join('\n');
    let firstShareLogged = false;
    pool.on('share', (s: { accepted: boolean; worker: string; difficulty?: number; reason?: string }) => {
      if (s.accepted && !firstShareLogged) {
        firstShareLogged = true;
        process.stderr.write(
          `demo: first share accepted by the pool after ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
      }
    });
    const started = Date.now();
    const code = await runDaemon({
      configFile,
      pretty: !o.json,
      factory: buildComponents,
      // the pool, the simulator and the temp folder (it holds the admin token) are stopped and removed below
      exitAfterStop: false,
      onStarted: () => {
        process.stderr.write(`${banner}\n`);
      },
    });
    const w = pool.workerStats('demo.worker1');
    process.stderr.write(`demo: pool accepted ${w.accepted} shares, rejected ${w.rejected}\n`);
    if (code !== 0)
      process.stderr.write(
        'demo: the daemon did not start or stopped with an error (see the log above); if a port is taken, pick others with --api-port and --cgminer-port\n',
      );
    return code;
  } finally {
    await pool.stop();
    await sim.stop();
  }
}
