// The daemon under load, on the simulator (3 × 76 chips over socat ptys) with the test pool, all on loopback:
//  - clean_jobs notify → new work written to every board (p50, p99)
//  - nonce reply written by a chip → mining.submit received by the pool (p50, p99)
//  - daemon CPU time per verified nonce at a high nonce rate, against one SHA-256d measured in the same run
//  - start → first accepted share (median of 3 starts)
//  - daemon RSS after warm-up and after N minutes of mining, growth per hour, beside an idle node with the same V8
//    flags (the systemd unit's) measured in the same run
// Run: make build && node --import tsx bench/mining.ts [--minutes 10]
// The footprint alone over an hour (RSS at warm-up and at the end, growth per hour, a sample every minute as it
// goes): npm run bench:footprint (= --footprint-only --minutes 60)
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sha256d } from '../src/pool/work/hash.js';
import { Simulator } from '../src/sim/board/simulator.js';
import { TestPool } from '../src/sim/pool/server.js';
import { freePort } from '../test/helpers/daemon.js';
import {
  cpuSeconds,
  rssMiB,
  spawnDaemon,
  stopChild,
  submitLatencyProbe,
  unitEnvironment,
  unitNodeFlags,
} from './daemon.js';
import { median, opsPerSecond, percentile, runs } from './lib.js';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '10' }, 'footprint-only': { type: 'boolean', default: false } },
});
const minutes = Number(values.minutes);
const all = !values['footprint-only'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = await mkdtemp(join(tmpdir(), 'asicd-bench-'));
const sim = new Simulator({ boards: 3, chips: 76, seed: 1, scaleShift: 30, link: 'pty', dir, fans: 4, controlPort: 0 });
await sim.start();
const pool = new TestPool({ difficulty: 1e-6, notifyIntervalMs: 600_000, newBlockIntervalMs: 6_000_000 });
await pool.start();

// free ports each time: the unit's defaults (8080, 4028) may be taken on a shared machine
const apiPorts = async () => ({ port: await freePort(), cgminer_port: await freePort() });
const daemon = (noncesPerChip: number, api: { port: number; cgminer_port: number }) =>
  spawnDaemon(dir, `asicd-${noncesPerChip}`, sim, pool, { tuning: { nonces_per_chip_s: noncesPerChip }, api });

let d: ReturnType<typeof daemon>;
const cleanLatency: number[] = [];
let submitLatency: number[] = [];
let cpu = 0;
let sent = 0;
let sha = 0;
const firstShareS: number[] = [];
if (all) {
  // ---- latencies at the natural nonce rate -------------------------------------------------------------------
  const probe = submitLatencyProbe(sim, pool);
  d = daemon(4, await apiPorts());
  await new Promise<void>((r) => pool.once('share', () => r()));
  await sleep(3000);
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
  submitLatency = probe.take();
  await stopChild(d);

  // ---- CPU per verified nonce at a high rate -----------------------------------------------------------------
  const count = (_b: number, n: number[]) => {
    sent += n.length;
  };
  d = daemon(64, await apiPorts());
  await new Promise<void>((r) => pool.once('share', () => r()));
  await sleep(5000);
  const pid = d.pid ?? 0;
  const c0 = cpuSeconds(pid);
  sim.on('nonces-sent', count);
  await sleep(20_000);
  sim.off('nonces-sent', count);
  cpu = cpuSeconds(pid) - c0;
  await stopChild(d);
  const header = Buffer.alloc(80, 7);
  sha = median(
    runs(5, () =>
      opsPerSecond((i) => {
        header.writeUInt32LE(i, 76);
        sha256d(header);
      }),
    ),
  );

  // ---- start → first accepted share ------------------------------------------------------------------------
  for (let i = 0; i < 3; i++) {
    const api = await apiPorts();
    const t0 = performance.now();
    const accepted = new Promise<void>((r) => {
      const on = (s: { accepted: boolean }) => {
        if (!s.accepted) return;
        pool.off('share', on);
        r();
      };
      pool.on('share', on);
    });
    d = daemon(4, api);
    await accepted;
    firstShareS.push((performance.now() - t0) / 1000);
    await stopChild(d);
  }
}

// ---- RSS after warm-up and after N minutes, beside an idle node ---------------------------------------------
const idle = spawn(process.execPath, [...unitNodeFlags(), '-e', 'setInterval(() => {}, 1000)'], {
  stdio: 'ignore',
  env: { ...process.env, ...unitEnvironment() },
});
d = daemon(4, await apiPorts());
// an hour-long run leaves the heap five minutes to reach its working size
const warmupS = minutes >= 30 ? 300 : Math.min(120, (minutes * 60) / 3);
const rss: { atS: number; mib: number }[] = [];
const t0 = performance.now();
for (let s = 0; s < minutes * 60; s += 15) {
  await sleep(15_000);
  rss.push({ atS: (performance.now() - t0) / 1000, mib: rssMiB(d.pid ?? 0) });
  // a long run shows where it is, and leaves figures behind if it is cut short
  if (!all && rss.length % 4 === 0)
    console.log(`rss ${(rss[rss.length - 1].atS / 60).toFixed(0)} min: ${rss[rss.length - 1].mib.toFixed(1)} MiB`);
}
const idleMiB = rssMiB(idle.pid ?? 0);
idle.kill();
await stopChild(d);
await pool.stop();
await sim.stop();
await rm(dir, { recursive: true, force: true });

const f = (x: number) => `${x.toFixed(2)} ms`;
if (all) {
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
    `start → first accepted share: median ${median(firstShareS).toFixed(1)} s (${firstShareS.map((x) => x.toFixed(1)).join(', ')} s)`,
  );
}
const warm = rss.find((r) => r.atS >= warmupS) ?? rss[0];
const last = rss[rss.length - 1];
const growthPerHour = ((last.mib - warm.mib) / warm.mib / ((last.atS - warm.atS) / 3600)) * 100;
// the same growth as the slope of a least-squares line through every sample after warm-up: two single samples move
// by ±3 MiB with the collector's timing, the line through 220 of them much less
const after = rss.filter((r) => r.atS >= warm.atS);
const mx = after.reduce((a, r) => a + r.atS, 0) / after.length;
const my = after.reduce((a, r) => a + r.mib, 0) / after.length;
const slope =
  after.reduce((a, r) => a + (r.atS - mx) * (r.mib - my), 0) / after.reduce((a, r) => a + (r.atS - mx) ** 2, 0);
const slopePerHour = after.length > 2 ? ((slope * 3600) / warm.mib) * 100 : Number.NaN;
console.log(
  `daemon RSS (V8 ${unitNodeFlags().join(' ')}): ${warm.mib.toFixed(1)} MiB after ${warm.atS.toFixed(0)} s warm-up, ${last.mib.toFixed(1)} MiB after ${(last.atS / 60).toFixed(1)} min (max ${Math.max(...rss.map((r) => r.mib)).toFixed(1)}); growth ${growthPerHour.toFixed(1)} %/h after warm-up (${slopePerHour.toFixed(1)} %/h by a line through the ${after.length} samples since); an idle node with the same flags ${idleMiB.toFixed(1)} MiB (ratio ${(last.mib / idleMiB).toFixed(2)})`,
);
