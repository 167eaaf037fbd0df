// Failover on the real stack (simulator on tcp://, the pool manager and chain controllers, two test pools):
//  - primary reset (RST) → first share accepted by the backup
//  - primary stalls silently → detection, and first share accepted by the backup
//  - primary turns into a black hole (answers everything but submits) → detection, first share on the backup; at the
//    default timeouts, against the goal max(10 s, 3 × the expected share interval)
// Medians of 5, beside the normal interval between accepted shares measured in the same runs.
// Run: node --import tsx bench/failover.ts
import { once } from 'node:events';
import { startRig, until } from '../test/helpers/rig.js';
import { median } from './lib.js';

const DIFF = 2e-7;
const RUNS = 5;

type Kind = 'rst' | 'stall' | 'black-hole';

async function trial(kind: Kind) {
  const rig = await startRig({
    pools: [{ difficulty: DIFF }, { difficulty: DIFF }],
    // the black hole runs at the defaults (submit_timeout_s 5, request_timeout_s 10)
    pool: kind === 'black-hole' ? {} : { request_timeout_s: 1, silence_timeout_s: 30 },
  });
  const [p0, p1] = rig.pools;
  await until(() => p0.workerStats('w0').accepted > 20, 20_000, 'steady mining');
  // normal spacing of accepted shares on the primary
  const gaps: number[] = [];
  let last = performance.now();
  const onShare = () => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  };
  p0.on('share', onShare);
  await until(() => gaps.length > 50, 20_000, 'share gaps');
  p0.off('share', onShare);
  const firstOnBackup = once(p1, 'share');
  const switched = new Promise<number>((res) => rig.miner.pools.once('switch', () => res(performance.now())));
  const t0 = performance.now();
  if (kind === 'rst') await p0.kill();
  else p0.setFault({ kind: kind === 'stall' ? 'stall' : 'black-hole' });
  const detectMs = (await switched) - t0;
  await firstOnBackup;
  const shareMs = performance.now() - t0;
  await rig.stop();
  // the mean: shares arrive in bursts (several per nonce batch), so the median gap is near zero
  return { detectMs, shareMs, gapMs: gaps.reduce((a, b) => a + b, 0) / gaps.length };
}

const label: Record<Kind, string> = {
  rst: 'primary reset (RST)     ',
  stall: 'primary stalls silently ',
  'black-hole': 'primary black hole      ',
};
for (const kind of ['rst', 'stall', 'black-hole'] as const) {
  const r = [];
  for (let i = 0; i < RUNS; i++) r.push(await trial(kind));
  const share = median(r.map((x) => x.shareMs));
  const gap = median(r.map((x) => x.gapMs));
  if (kind === 'black-hole') {
    const goalMs = Math.max(10_000, 3 * gap);
    console.log(`black hole goal: failed over within max(10 s, 3 × share interval) = ${(goalMs / 1000).toFixed(1)} s`);
  }
  console.log(
    `${label[kind]} detection ${median(r.map((x) => x.detectMs)).toFixed(0)} ms, first share on the backup ${share.toFixed(0)} ms (runs: ${r.map((x) => x.shareMs.toFixed(0)).join(', ')}); mean share interval ${gap.toFixed(1)} ms, ratio ${(share / gap).toFixed(1)}`,
  );
}
console.log(
  `median of ${RUNS}; RST and stall at request_timeout_s = 1 (stall detection waits for one unanswered submit), the black hole at the defaults (submit_timeout_s = 5); cgminer needs ~90 s to call a silent pool dead`,
);
