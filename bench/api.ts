// The operator API under load while the daemon mines on the simulator (3 × 76 chips over socat ptys):
//  - GET /api/v1/summary with 100 connections: requests/s and p99, and its effect on nonce → submit latency
//  - 1000 WebSocket subscribers to the 1 Hz summary: delivery and daemon CPU
// Run: make build && node --import tsx bench/api.ts
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type autocannon from 'autocannon';
import WebSocket from 'ws';
import { Simulator } from '../src/sim/board/simulator.js';
import { TestPool } from '../src/sim/pool/server.js';
import { freePort } from '../test/helpers/daemon.js';
import { cpuSeconds, spawnDaemon, stopChild, submitLatencyProbe } from './daemon.js';
import { percentile } from './lib.js';

const root = new URL('..', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = await mkdtemp(join(tmpdir(), 'asicd-bench-api-'));
const sim = new Simulator({ boards: 3, chips: 76, seed: 1, scaleShift: 30, link: 'pty', dir, fans: 4, controlPort: 0 });
await sim.start();
const pool = new TestPool({ difficulty: 1e-6, notifyIntervalMs: 30_000 });
await pool.start();
const port = await freePort();
const d = spawnDaemon(dir, 'asicd', sim, pool, { api: { port, cgminer_port: await freePort() } });
await new Promise<void>((r) => pool.once('share', () => r()));
await sleep(3000);

const probe = submitLatencyProbe(sim, pool);
const cpu = () => cpuSeconds(d.pid ?? 0);

await sleep(20_000);
const idle = probe.take();
// the load generator runs in its own process, so it does not slow the simulator and pool measuring the latency
const acChild = spawn(
  process.execPath,
  [
    join(root, 'node_modules/autocannon/autocannon.js'),
    '-j',
    '-c',
    '100',
    '-d',
    '20',
    `http://127.0.0.1:${port}/api/v1/summary`,
  ],
  { stdio: ['ignore', 'pipe', 'ignore'] },
);
let acOut = '';
acChild.stdout?.on('data', (b: Buffer) => {
  acOut += b.toString();
});
await new Promise((r) => acChild.once('exit', r));
const ac = JSON.parse(acOut) as autocannon.Result;
const loaded = probe.take();

const clients: WebSocket[] = [];
const counts: number[] = [];
for (let i = 0; i < 1000; i++) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws`);
  const k = counts.push(0) - 1;
  ws.on('message', (m) => {
    if (String(m).startsWith('{"topic":"summary"')) counts[k]++;
  });
  ws.on('open', () => ws.send('{"subscribe":["summary"]}'));
  ws.on('error', () => {});
  clients.push(ws);
}
await sleep(3000);
counts.fill(0);
const c0 = cpu();
await sleep(10_000);
const wsCpu = cpu() - c0;
for (const ws of clients) ws.close();
await stopChild(d);
await pool.stop();
await sim.stop();

const f = (x: number) => `${x.toFixed(2)} ms`;
console.log(
  `GET /api/v1/summary, 100 connections, 20 s: ${ac.requests.average.toFixed(0)} req/s, latency p50 ${ac.latency.p50} ms, p99 ${ac.latency.p99} ms, errors ${ac.errors + ac.non2xx}`,
);
console.log(
  `nonce → submit without API load: p50 ${f(percentile(idle, 50))}, p99 ${f(percentile(idle, 99))} (${idle.length} shares)`,
);
console.log(
  `nonce → submit under that load:  p50 ${f(percentile(loaded, 50))}, p99 ${f(percentile(loaded, 99))} (${loaded.length} shares)`,
);
const got = [...counts].sort((a, b) => a - b);
console.log(
  `1000 WebSocket subscribers, 10 s: summaries per client median ${got[500]}, min ${got[0]}, max ${got[999]}; daemon CPU ${((wsCpu / 10) * 100).toFixed(0)} % of a core`,
);
