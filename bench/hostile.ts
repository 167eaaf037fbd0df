// The daemon (a child process, as in production) against hostile pools: for each fault mode of the test pool, the
// daemon's RSS before and during 60 s of it (goal: within +20 MB of the baseline), what the pool refused (goal: 0),
// whether the boards stayed powered with their watchdog fed (the simulator's oracle), and shares accepted meanwhile.
// A healthy pool measured the same way in the same run is the baseline row.
// Run: make build && node --import tsx bench/hostile.ts [--seconds 60] [--only junk,flood] (the baseline always runs)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Simulator } from '../src/sim/board/simulator.js';
import { type Fault, TestPool } from '../src/sim/pool/server.js';
import { freePort } from '../test/helpers/daemon.js';
import { rssMiB, spawnDaemon, stopChild } from './daemon.js';
import { median } from './lib.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '60' }, only: { type: 'string', default: '' } },
});
const seconds = Number(values.seconds);
const only = values.only.split(',').filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cases: [string, Fault][] = [
  ['healthy (baseline)', { kind: 'none' }],
  ['black hole', { kind: 'black-hole' }],
  ['notify flood 8k/s', { kind: 'notify-flood', perS: 8000 }],
  ['difficulty 1e-300', { kind: 'tiny-difficulty', difficulty: 1e-300 }],
  ['junk 4k lines/s', { kind: 'junk', perS: 4000 }],
  ['giant line + notify', { kind: 'giant-line', bytes: 70_000, everyConnection: true }],
  ['reconnect, wait 600 s', { kind: 'reconnect', waitS: 600 }],
];

const dir = await mkdtemp(join(tmpdir(), 'asicd-hostile-'));
const sim = new Simulator({ boards: 2, chips: 32, seed: 1, scaleShift: 28, link: 'tcp', dir, fans: 2, controlPort: 0 });
await sim.start();
console.log(`${seconds} s per case; daemon RSS in MiB (baseline after 15 s of healthy mining)`);
for (const [name, fault] of cases) {
  if (only.length && fault.kind !== 'none' && !only.some((o) => name.includes(o))) continue;
  const pool = new TestPool({ difficulty: 2e-6, notifyIntervalMs: 10_000 });
  await pool.start();
  // free ports: a daemon that cannot bind its API exits, and the bench would wait for its shares for ever
  const d = spawnDaemon(dir, 'asicd-hostile', sim, pool, {
    api: { port: await freePort(), cgminer_port: await freePort() },
  });
  const pid = d.pid ?? 0;
  await new Promise<void>((r) => pool.once('share', () => r()));
  await sleep(15_000);
  const base = rssMiB(pid);
  const acc0 = pool.workerStats('bench').accepted;
  pool.setFault(fault);
  const samples: number[] = [];
  let unpowered = 0;
  for (let s = 0; s < seconds; s++) {
    await sleep(1000);
    samples.push(rssMiB(pid));
    unpowered += sim.oracle().boards.filter((b) => !b.power).length;
  }
  const w = pool.workerStats('bench');
  const refused = w.rejected + w.stale;
  console.log(
    `${name.padEnd(22)} RSS ${base.toFixed(0)} → max ${Math.max(...samples).toFixed(0)} (median ${median(samples).toFixed(0)}, +${(Math.max(...samples) - base).toFixed(1)}); refused ${refused}; accepted during ${w.accepted - acc0}; board-seconds unpowered ${unpowered}; lines sent by the fault ${pool.counters.faultLines}, submits swallowed ${pool.counters.swallowed}`,
  );
  await stopChild(d);
  await pool.stop();
}
await sim.stop();
await rm(dir, { recursive: true, force: true });
