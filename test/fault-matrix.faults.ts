import t from 'tap';
import type { ChainController } from '../src/chain/controller.js';
import { startDaemon } from './helpers/daemon.js';
import { sleep, until } from './helpers/rig.js';

// The fault matrix (npm run test:faults): every simulator fault crossed with the phase it strikes in, on the real
// daemon and simulator, each cell judged from the simulator's oracle:
// - no chip above dangerous_c for more than 2 s;
// - with the fans lost, every board off within 5 s;
// - the daemon's board state matches the board's true power within 2 s (mining/bringup: powered; cooling, paused,
//   idle: off; lost: the board's own watchdog must have it off within watchdog_s + 2 s);
// - the boards the fault does not touch still mining.

/** FAULT_MATRIX_ONLY=text runs only the faults whose name contains it (to look at one row). */
const ONLY = process.env.FAULT_MATRIX_ONLY;

const THERMAL = { target_c: 40, hot_c: 50, dangerous_c: 60, throttle_hold_s: 5, watchdog_s: 4 };
const OBSERVE_MS = 9000;

type Daemon = Awaited<ReturnType<typeof startDaemon>>;

interface Fault {
  name: string;
  /** boards the fault leaves alone (they must still mine) */
  healthy: number[];
  inject: (d: Daemon) => Promise<void>;
  /** boards that must be off within 5 s */
  offWithin5s?: number[];
}

const board0 =
  (kind: string, extra: Record<string, unknown> = {}): Fault['inject'] =>
  async (d) => {
    await d.sim.fault({ kind, board: 0, ...extra });
  };

const FAULTS: Fault[] = [
  { name: 'over-temp', healthy: [1], inject: board0('over-temp') },
  {
    name: 'fans lost',
    healthy: [],
    inject: (d) => d.sim.fault({ kind: 'fans-lost' }).then(() => {}),
    offWithin5s: [0, 1],
  },
  { name: 'stuck fan', healthy: [0, 1], inject: (d) => d.sim.fault({ kind: 'stuck-fan', fan: 1 }).then(() => {}) },
  { name: 'inlet 45 °C', healthy: [0, 1], inject: (d) => d.sim.fault({ kind: 'inlet', celsius: 45 }).then(() => {}) },
  { name: 'supply sag', healthy: [1], inject: board0('supply-sag') },
  { name: 'broken chain', healthy: [1], inject: board0('broken-chain', { at: 4 }) },
  { name: 'dead chip', healthy: [1], inject: board0('dead-chip', { chip: 3 }) },
  {
    name: 'unplug/replug',
    healthy: [1],
    inject: async (d) => {
      await d.sim.fault({ kind: 'unplug', board: 0 });
      setTimeout(() => void d.sim.fault({ kind: 'replug', board: 0 }), 3000).unref();
    },
  },
  { name: 'MCU link lost', healthy: [1], inject: board0('mcu-lost') },
  { name: 'UART noise 1 %', healthy: [1], inject: board0('uart-noise', { rate: 0.01 }) },
];

interface Phase {
  name: string;
  /** brings the daemon to the phase; resolves when the fault should strike */
  enter: (d: Daemon) => Promise<void>;
  /** boards are paused: "healthy" means paused and off, not mining */
  paused?: boolean;
}

const allMining = (d: Daemon) => d.api.miner.chains.every((c) => c.state === 'mining');

const PHASES: Phase[] = [
  { name: 'bring-up', enter: async () => {} },
  { name: 'mining', enter: (d) => until(() => allMining(d), 20_000, 'mining').then(() => {}) },
  {
    name: 'throttled',
    enter: async (d) => {
      await until(() => allMining(d), 20_000, 'mining');
      await d.sim.fault({ kind: 'inlet', celsius: 42 });
      await until(() => d.api.miner.chains.every((c) => c.throttleMHz !== undefined), 30_000, 'throttled');
    },
  },
  {
    name: 'paused',
    paused: true,
    enter: async (d) => {
      await until(() => allMining(d), 20_000, 'mining');
      await d.api.miner.pause();
      await until(() => d.api.miner.chains.every((c) => c.state === 'paused'), 10_000, 'paused');
      await until(() => d.sim.oracle().boards.every((b) => !b.power), 5000, 'paused boards off (oracle)');
    },
  },
  {
    name: 'restart',
    enter: async (d) => {
      await until(() => allMining(d), 20_000, 'mining');
      void d.api.miner.restart();
    },
  },
];

/** What the state claims about power: true on, false off, undefined either (bring-up, lost). */
function claimsPower(c: ChainController): boolean | undefined {
  if (c.state === 'mining') return true;
  if (c.state === 'bringup' || c.state === 'lost' || c.state === 'init') return undefined;
  return false;
}

async function runCell(fault: Fault, phase: Phase): Promise<string[]> {
  const problems: string[] = [];
  const d = await startDaemon({ thermal: THERMAL }, { thermalTauS: 2 });
  try {
    await phase.enter(d);
    const chains = d.api.miner.chains;
    const t0 = Date.now();
    await fault.inject(d);
    const hotSince = [0, 0];
    const mismatchSince = [0, 0];
    const lostOnSince = [0, 0];
    while (Date.now() - t0 < OBSERVE_MS) {
      const o = d.sim.oracle();
      const now = Date.now();
      o.boards.forEach((b, i) => {
        if (b.maxChipC > THERMAL.dangerous_c) {
          hotSince[i] ||= now;
          if (now - hotSince[i] > 2000) problems.push(`board ${i} above ${THERMAL.dangerous_c} °C for > 2 s`);
        } else hotSince[i] = 0;
        const claim = claimsPower(chains[i]);
        if (claim !== undefined && claim !== b.power) {
          mismatchSince[i] ||= now;
          if (now - mismatchSince[i] > 2000)
            problems.push(`board ${i} ${chains[i].state} but ${b.power ? 'powered' : 'off'} for > 2 s`);
        } else mismatchSince[i] = 0;
        if (chains[i].state === 'lost' && b.power) {
          lostOnSince[i] ||= now;
          if (now - lostOnSince[i] > (THERMAL.watchdog_s + 2) * 1000)
            problems.push(`board ${i} lost but still powered after watchdog_s + 2 s`);
        } else lostOnSince[i] = 0;
      });
      for (const i of fault.offWithin5s ?? [])
        if (now - t0 > 5000 && o.boards[i].power) problems.push(`board ${i} still powered 5 s after the fans failed`);
      await sleep(200);
    }
    const o = d.sim.oracle();
    for (const i of fault.healthy) {
      if (phase.paused) {
        if (chains[i].state !== 'paused' || o.boards[i].power) problems.push(`board ${i} not held paused`);
      } else if (chains[i].state !== 'mining' || !o.boards[i].power) {
        problems.push(`healthy board ${i} ${chains[i].state}, ${o.boards[i].power ? 'powered' : 'off'}`);
      }
    }
  } finally {
    await d.stop();
  }
  return [...new Set(problems)];
}

t.test('fault matrix: every simulator fault in every phase, judged by the oracle', async (t) => {
  const cells: { fault: Fault; phase: Phase }[] = [];
  for (const fault of FAULTS)
    if (!ONLY || fault.name.includes(ONLY)) for (const phase of PHASES) cells.push({ fault, phase });
  const results = new Map<string, string[]>();
  // two cells at a time: each is one daemon and one simulator of 2 × 8 chips
  let next = 0;
  const worker = async () => {
    while (next < cells.length) {
      const { fault, phase } = cells[next++];
      let problems: string[];
      try {
        problems = await runCell(fault, phase);
      } catch (err) {
        problems = [(err as Error).message];
      }
      results.set(`${fault.name}|${phase.name}`, problems);
    }
  };
  await Promise.all([worker(), worker()]);
  const width = Math.max(...FAULTS.map((f) => f.name.length));
  const lines = [
    `| ${'fault'.padEnd(width)} | ${PHASES.map((p) => p.name).join(' | ')} |`,
    `|${'-'.repeat(width + 2)}|${PHASES.map((p) => '-'.repeat(p.name.length + 2)).join('|')}|`,
  ];
  for (const f of FAULTS) {
    if (ONLY && !f.name.includes(ONLY)) continue;
    const row = PHASES.map((p) => {
      const ok = (results.get(`${f.name}|${p.name}`) ?? ['not run']).length === 0;
      return (ok ? 'ok' : 'FAIL').padEnd(p.name.length);
    });
    lines.push(`| ${f.name.padEnd(width)} | ${row.join(' | ')} |`);
  }
  t.comment(`\n${lines.join('\n')}`);
  for (const [cell, problems] of results) t.same(problems, [], cell);
});
