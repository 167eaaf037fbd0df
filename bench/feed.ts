// Keeping real-speed chips fed: 3 boards × 76 chips at their real rate, with and without version rolling.
// Prints the works a second the chips need, the works a second this core makes (against raw SHA-256 in the same
// run), the UART time per job, and the idle share the simulator's oracle measures against the daemon's prediction.
// Run: node --import tsx bench/feed.ts [rolling seconds, default 60] [no-rolling seconds, default 60]
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { chipWalkMs, reachableShare, uartMsPerJob } from '../src/chain/feed-estimate.js';
import { validateConfig } from '../src/config/load.js';
import { RATINGS } from '../src/device/maijie-l7/ratings.js';
import { Miner } from '../src/miner.js';
import { encodeExtranonce2, type Job, makeWork } from '../src/pool/work/work.js';
import { MODEL } from '../src/sim/board/physics.js';
import { Simulator } from '../src/sim/board/simulator.js';
import { TestPool } from '../src/sim/pool/server.js';
import { benchJob, fmt, median, opsPerSecond, runs } from './lib.js';

const BOARDS = 3;
const CHIPS = 76;
const FREQ_MHZ = 400;
const MASK = 0x1fffe000;
const rollingS = Number(process.argv[2] ?? 60);
const plainS = Number(process.argv[3] ?? 60);

const interval = Math.floor(256 / CHIPS);
const baud = RATINGS.baudMax;
const uartMs = uartMsPerJob(baud);

const job: Job = benchJob(MASK);
const block64 = randomBytes(64);
const sha = median(runs(5, () => opsPerSecond(() => createHash('sha256').update(block64).digest())));
const worksPerS = median(runs(5, () => opsPerSecond((i) => makeWork(job, encodeExtranonce2(i, 8)))));
// one core makes the works of every board
const workGenMs = (1000 / worksPerS) * BOARDS;

async function measure(seconds: number, grant: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'asicd-bench-feed-'));
  const sim = new Simulator({
    boards: BOARDS,
    chips: CHIPS,
    seed: 1,
    scaleShift: 30,
    link: 'tcp',
    dir,
    fans: 4,
    controlPort: 0,
    exhaustion: true,
  });
  await sim.start();
  const pool = new TestPool({ difficulty: 1e-5, notifyIntervalMs: 30_000, grantVersionRolling: grant });
  await pool.start();
  const config = validateConfig(
    {
      daemon: { state_dir: `${dir}/state`, lock_dir: `${dir}/lock` },
      pools: [{ url: pool.url, user: 'bench' }],
      chains: sim.info().map((b) => ({ uart: b.uart, spi: b.spi, chips: CHIPS, frequency_mhz: FREQ_MHZ, baud })),
      fans: { hwmon: sim.hwmonDir, count: 4 },
    },
    'bench',
  );
  const miner = new Miner(config, undefined, pino({ level: 'silent' }));
  const comps = miner.components();
  for (const c of comps) await c.start();
  try {
    const t0 = Date.now();
    while (!miner.chains.every((c) => c.state === 'mining' && c.counters.jobsSent > 0)) {
      if (Date.now() - t0 > 300_000) throw new Error('boards did not start mining within 300 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const boards = sim.oracle().boards;
    return miner.chains.map((c, i) => ({
      measured: boards[i].exhaustion?.share ?? Number.NaN,
      predicted: c.feedStatus().idleShare,
      jobs: c.counters.jobsSent,
    }));
  } finally {
    for (const c of [...comps].reverse()) await c.stop();
    await pool.stop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (x: number) => `${(x * 100).toFixed(4)} %`;
console.log(
  `host: ${cpus().length} cores, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
console.log(
  `raw SHA-256 (one block): ${fmt(sha)}/s; work generation: ${fmt(worksPerS)} works/s (ratio to raw SHA-256 ${(worksPerS / sha).toFixed(4)})`,
);
console.log(`UART time per job at ${baud} baud: ${uartMs.toFixed(3)} ms`);
for (const [label, mask, seconds] of [
  ['with version rolling', MASK, rollingS],
  ['without version rolling', 0, plainS],
] as const) {
  const walkMs = chipWalkMs(interval, mask, FREQ_MHZ, MODEL.cores);
  const needed = (BOARDS * 1000) / walkMs;
  console.log(`\n${label}: a chip walks its job in ${walkMs < 1 ? walkMs.toFixed(3) : walkMs.toFixed(0)} ms`);
  console.log(
    `  works needed: ${fmt(needed)}/s for ${BOARDS} × ${CHIPS} chips; made on this core: ${fmt(worksPerS)}/s`,
  );
  console.log(
    `  reachable share of hash rate (UART and work generation): ${pct(reachableShare(walkMs, uartMs, workGenMs))}`,
  );
  if (seconds > 0) {
    const r = await measure(seconds, mask !== 0);
    for (const [i, b] of r.entries())
      console.log(
        `  board ${i}: oracle idle ${pct(b.measured)}, daemon predicts ${pct(b.predicted)} (${b.jobs} jobs in ${seconds} s + start)`,
      );
  }
}
console.log(
  `\nload average at the end: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
