// The test pool in a process of its own, for benches that time nonce → submit: the pool is another machine in the
// field, and a pool sharing the bench's event loop with 228 simulated chips stamps its submits late whenever the
// simulator is busy. It prints `{"url":…}` once listening and sends each submit's nonce with the time it arrived
// (performance.timeOrigin + performance.now(): a clock that agrees across processes on one host) over IPC, in
// batches every 50 ms. Options: a JSON object of TestPool options as the one argument.
import { performance } from 'node:perf_hooks';
import { TestPool } from '../src/sim/pool/server.js';

const pool = new TestPool(JSON.parse(process.argv[2] ?? '{}'));
let batch: [number, number][] = [];
pool.on('submit', (params: unknown[], at: number) => {
  batch.push([Number.parseInt(String(params[4]), 16), performance.timeOrigin + at]);
});
setInterval(() => {
  if (batch.length === 0) return;
  process.send?.(batch);
  batch = [];
}, 50);
await pool.start();
console.log(JSON.stringify({ url: pool.url }));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => void pool.stop().then(() => process.exit(0)));
