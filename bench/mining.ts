// The daemon under load, on the simulator (3 × 76 chips over socat ptys) with the test pool, all on loopback:
//  - clean_jobs notify → new work written to every board (p50, p99)
//  - nonce reply written by a chip → mining.submit received by the pool (p50, p99)
//  - daemon CPU time per verified nonce at a high nonce rate, against one SHA-256d measured in the same run
//  - daemon RSS after N minutes of mining
// Run: make build && node --import tsx bench/mining.ts [--minutes 10]
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sha256d } from '../src/pool/work/hash.js';
import { Simulator } from '../src/sim/board/simulator.js';
import { TestPool } from '../src/sim/pool/server.js';
import { cpuSeconds, rssMiB, spawnDaemon, stopChild, submitLatencyProbe } from './daemon.js';
import { median, opsPerSecond, percentile, runs } from './lib.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' } } });
const minutes = Number(values.minutes);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = await mkdtemp(join(tmpdir(), 'asicd-bench-'));
const sim = new Simulator({ boards: 3, chips: 76, seed: 1, scaleShift: 30, link: 'pty', dir, fans: 4, controlPort: 0 });
await sim.start();
const pool = new TestPool({ difficulty: 1e-6, notifyIntervalMs: 600_000, newBlockIntervalMs: 6_000_000 });
await pool.start();

const daemon = (noncesPerChip: number) =>
  spawnDaemon(dir, `asicd-${noncesPerChip}`, sim, pool, { tuning: { nonces_per_chip_s: noncesPerChip } });

// ---- latencies at the natural nonce rate -------------------------------------------------------------------
const probe = submitLatencyProbe(sim, pool);
let d = daemon(4);
await new Promise<void>((r) => pool.once('share', () => r()));
await sleep(3000);
const cleanLatency: number[] = [];
for (let i = 0; i < 40; i++) {
  const t0 = performance.now();
  const seen = new Set<number>();
  const done = new Promise<void>((res) => {
    const on = (board: number) => {
      seen.add(board);
      if (seen.size === sim.boards.length) {
        cleanLatency.push(performance.now() - t0);
        sim.off('job', on);
        res();
      }
    };
    sim.on('job', on);
  });
  pool.newBlock();
  await done;
  await sleep(400);
}
await sleep(30_000);
const submitLatency = probe.take();
await stopChild(d);

// ---- CPU per verified nonce at a high rate -----------------------------------------------------------------
let sent = 0;
const count = (_b: number, n: number[]) => {
  sent += n.length;
};
d = daemon(64);
await new Promise<void>((r) => pool.once('share', () => r()));
await sleep(5000);
const pid = d.pid ?? 0;
const c0 = cpuSeconds(pid);
sim.on('nonces-sent', count);
await sleep(20_000);
sim.off('nonces-sent', count);
const cpu = cpuSeconds(pid) - c0;
await stopChild(d);
const header = Buffer.alloc(80, 7);
const sha = median(
  runs(5, () =>
    opsPerSecond((i) => {
      header.writeUInt32LE(i, 76);
      sha256d(header);
    }),
  ),
);

// ---- RSS after N minutes -----------------------------------------------------------------------------------
d = daemon(4);
const rss: number[] = [];
for (let s = 0; s < minutes * 60; s += 30) {
  await sleep(30_000);
  rss.push(rssMiB(d.pid ?? 0));
}
await stopChild(d);
await pool.stop();
await sim.stop();

const f = (x: number) => `${x.toFixed(2)} ms`;
console.log(
  `clean_jobs notify → work on all ${sim.boards.length} boards: p50 ${f(percentile(cleanLatency, 50))}, p99 ${f(percentile(cleanLatency, 99))} (${cleanLatency.length} notifies)`,
);
console.log(
  `nonce reply sent → mining.submit at the pool: p50 ${f(percentile(submitLatency, 50))}, p99 ${f(percentile(submitLatency, 99))} (${submitLatency.length} shares)`,
);
const perNonceUs = (cpu / sent) * 1e6;
console.log(
  `daemon CPU per verified nonce: ${perNonceUs.toFixed(1)} µs at ${(sent / 20).toFixed(0)} nonces/s (${((cpu / 20) * 100).toFixed(0)} % of a core); one SHA-256d here ${(1e6 / sha).toFixed(2)} µs, ratio ${(perNonceUs / (1e6 / sha)).toFixed(1)}`,
);
console.log(
  `daemon RSS after ${minutes} min: ${rss.at(-1)?.toFixed(1)} MiB (max ${Math.max(...rss).toFixed(1)} MiB, first sample ${rss[0]?.toFixed(1)} MiB)`,
);
