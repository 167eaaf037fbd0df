import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import t from 'tap';
import { simMinerConfig } from '../src/sim/miner-config.js';
import { TestPool } from '../src/sim/pool/server.js';
import { freePort } from './helpers/daemon.js';
import { type Spawned, spawnTs, tempDir } from './helpers/proc.js';

// The whole stack as an operator runs it: `asicd sim` (3 × 76 chips over socat ptys) and `asicd run` as separate
// processes, and the strict test pool, all on loopback.

interface SimInfo {
  boards: { index: number; uart: string; spi: string }[];
  hwmon: string;
  control: string;
}

interface OracleChip {
  idleFraction: number;
  noncesSent: number;
}
interface Oracle {
  boards: { power: boolean; chips: OracleChip[] }[];
}

async function startSim(args: string[]): Promise<{ p: Spawned; info: SimInfo; dir: string }> {
  const dir = tempDir('asicd-e2e-');
  const p = spawnTs('src/cli.ts', ['sim', '--dir', dir, ...args]);
  await p.waitFor('simulator ready');
  const line = p
    .stdout()
    .split('\n')
    .find((l) => l.includes('simulator ready'));
  return { p, info: JSON.parse(line ?? '{}') as SimInfo, dir };
}

async function writeConfig(
  dir: string,
  info: SimInfo,
  poolUrl: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const file = join(dir, 'asicd.toml');
  writeFileSync(
    file,
    stringify(
      simMinerConfig({
        dir,
        boards: info.boards,
        hwmon: info.hwmon,
        fans: 4,
        chips: 76,
        pool: { url: poolUrl, user: 'e2e.worker' },
        // free ports: a test must never collide with a miner (or a leftover test) on 8080/4028
        extra: {
          log: { level: 'info', stats_interval_s: 5 },
          api: { port: await freePort(), cgminer_port: await freePort() },
          ...extra,
        },
      }),
    ),
  );
  return file;
}

function summaries(out: string): Record<string, unknown>[] {
  return out
    .split('\n')
    .filter((l) => l.includes('"msg":"summary"'))
    .map((l) => JSON.parse(l));
}

const oracle = async (url: string) => (await (await fetch(`${url}/oracle`)).json()) as Oracle;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('mining end to end: shares accepted, pool and daemon agree on hash rate, no chip idle', async (t) => {
  const sim = await startSim(['--boards', '3', '--chips', '76']);
  // ~76 kH/s of scale-model chips at 5e-7 make ~35 shares a second: enough for a tight comparison in a minute
  const pool = new TestPool({ difficulty: 5e-7, notifyIntervalMs: 10_000, newBlockIntervalMs: 25_000 });
  await pool.start();
  const d = spawnTs('src/cli.ts', ['run', '--config', await writeConfig(sim.dir, sim.info, pool.url)]);
  t.teardown(() => {
    d.child.kill('SIGKILL');
    sim.p.child.kill('SIGTERM');
  });
  const t0 = Date.now();
  await new Promise<void>((res) => pool.once('share', () => res()));
  const firstShareS = (Date.now() - t0) / 1000;
  t.comment(`first share ${firstShareS.toFixed(1)} s after start`);
  await sleep(60_000);
  const poolRate = pool.acceptedRate(55_000, 'e2e.worker') * 2 ** 32;
  const s = summaries(d.stdout()).at(-1) as {
    hashrate: { h5m: number; h1m: number };
    rejected: number;
    accepted: number;
    hwErrors: number;
  };
  const w = pool.workerStats('e2e.worker');
  // ~15 shares a second at this difficulty while the simulator keeps its pace, fewer on a loaded machine (its hashing
  // shares the cores): the count shows shares flow, the rate agreement below is the measure
  t.ok(w.accepted > 300, `${w.accepted} shares accepted`);
  t.equal(w.rejected, 0, `none rejected: ${JSON.stringify(w.rejects)}`);
  t.ok(w.stale <= w.accepted / 200, `${w.stale} stale (a share in flight when a block changes)`);
  t.equal(s.rejected, 0);
  // the same window on both sides: the 5-minute rate of a young daemon still holds boards that came up late
  const ratio = poolRate / s.hashrate.h1m;
  t.ok(
    Math.abs(ratio - 1) < 0.1,
    `pool ${poolRate.toFixed(0)} H/s vs daemon 1-min ${s.hashrate.h1m.toFixed(0)} H/s (ratio ${ratio.toFixed(3)})`,
  );
  const o = await oracle(sim.info.control);
  const idle = o.boards.flatMap((b) => b.chips.map((c) => c.idleFraction));
  t.ok(Math.max(...idle) <= 0.01, `max chip idle fraction ${Math.max(...idle).toFixed(4)}`);
  t.ok(
    o.boards.every((b) => b.chips.every((c) => c.noncesSent > 0)),
    'every chip found nonces',
  );
  d.child.kill('SIGTERM');
  t.equal((await d.exit).code, 0);
  await sleep(300);
  const after = await oracle(sim.info.control);
  t.ok(
    after.boards.every((b) => !b.power),
    'SIGTERM powered every board off',
  );
  sim.p.child.kill('SIGTERM');
  await sim.p.exit;
  await pool.stop();
});

t.test('faults: a dead chip, a broken chain and UART noise are handled; kill -9 ends with boards off', async (t) => {
  const sim = await startSim([
    '--boards',
    '2',
    '--chips',
    '76',
    '--broken-chain',
    '60',
    '--dead-chip',
    '5',
    '--noise',
    '0.0005',
  ]);
  const pool = new TestPool({ difficulty: 2e-6, notifyIntervalMs: 10_000 });
  await pool.start();
  const d = spawnTs('src/cli.ts', [
    'run',
    '--config',
    await writeConfig(sim.dir, sim.info, pool.url, { thermal: { watchdog_s: 3 } }),
  ]);
  t.teardown(() => {
    d.child.kill('SIGKILL');
    sim.p.child.kill('SIGTERM');
  });
  await d.waitFor('chain broken at chip 60', 20_000);
  await d.waitFor('"msg":"chip silent"', 60_000);
  const silent = d
    .stdout()
    .split('\n')
    .filter((l) => l.includes('"msg":"chip silent"'))
    .map((l) => JSON.parse(l) as { component: string; chip: number });
  t.ok(
    silent.some((l) => l.component === 'chain0' && l.chip === 5),
    'the dead chip 5 of board 0 is flagged',
  );
  const w = pool.workerStats('e2e.worker');
  t.ok(w.accepted > 20, `${w.accepted} shares accepted despite the faults`);
  t.equal(w.rejected, 0, 'noise never reaches the pool: corrupt nonces are caught as CRC or hardware errors');
  const s = summaries(d.stdout()).at(-1) as { hashrate: { h1m: number } };
  t.ok(s.hashrate.h1m > 0, 'still hashing');
  // kill -9: nobody powers the boards off but their MCU watchdogs
  d.child.kill('SIGKILL');
  await d.exit;
  const before = await oracle(sim.info.control);
  t.ok(
    before.boards.some((b) => b.power),
    'boards still on right after the kill',
  );
  await sleep(4500);
  const o = await oracle(sim.info.control);
  t.ok(
    o.boards.every((b) => !b.power),
    'the MCU watchdog powered every board off',
  );
  sim.p.child.kill('SIGTERM');
  await sim.p.exit;
  await pool.stop();
});
