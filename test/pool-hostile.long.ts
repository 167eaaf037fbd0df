// Pools that misbehave, on the real stack: the simulator on tcp://, the miner's pool manager and chain controllers,
// and test pools in their fault modes. Every case ends with the pools' own verdict: no invalid submit.
import t from 'tap';
import { PoolOpError } from '../src/pool/manager/manager.js';
import { poissonLowerTailBound, YIELD_ALPHA, YIELD_SHORT_RATIO } from '../src/pool/manager/share-yield.js';
import type { TestPool } from '../src/sim/pool/server.js';
import { type Rig, sleep, startRig, until } from './helpers/rig.js';

// ~42 kH/s of scale-model chips; at 2e-7 a pool sees ~50 shares a second
const DIFF = 2e-7;

/** Shares the pool refused for any reason (staleness included): what a hostile pool must never get from us. */
function refused(pool: TestPool): number {
  let n = 0;
  for (const w of pool.stats.values()) n += w.rejected + w.stale;
  return n;
}

function accepted(pool: TestPool): number {
  let n = 0;
  for (const w of pool.stats.values()) n += w.accepted;
  return n;
}

const steady = (rig: Rig, i: number, n = 5) =>
  until(() => accepted(rig.pools[i]) > n, 20_000, `shares accepted by pool ${i}`);

t.test('1. black hole: a pool that never answers submits is left for the backup and not taken back', async (t) => {
  // default request_timeout_s (10 s) and fallback_time_s; the black hole is judged by its unanswered submits
  const rig = await startRig({ pools: [{ difficulty: DIFF }, { difficulty: DIFF }] });
  t.teardown(rig.stop);
  const [p0, p1] = rig.pools;
  await steady(rig, 0);
  p0.setFault({ kind: 'black-hole' });
  const t0 = Date.now();
  await until(() => rig.miner.pools.current?.id === 1, 20_000, 'failover from the black hole');
  t.comment(`black hole left after ${Date.now() - t0} ms (expected share interval ~20 ms; bench/failover measures)`);
  const n = accepted(p1);
  await until(() => accepted(p1) > n + 20, 15_000, 'shares on the backup');
  const e0 = rig.miner.pools.pools[0];
  t.equal(e0.health, 'dead', 'the black hole is shown dead');
  t.ok(e0.shunnedUntilMs > Date.now(), 'and shunned for a while');
  await sleep(2000);
  t.equal(rig.miner.pools.current?.id, 1, 'still on the backup: the black hole is not picked again at once');
  t.ok(p0.counters.swallowed > 0, `${p0.counters.swallowed} submits swallowed`);
  t.equal(refused(p0) + refused(p1), 0, 'no invalid submit');
});

t.test('2. a dead session’s work: a job behind a giant line in the same chunk is never mined', async (t) => {
  const rig = await startRig({ pools: [{ difficulty: DIFF, notifyIntervalMs: 60_000 }] });
  t.teardown(rig.stop);
  const [p0] = rig.pools;
  await steady(rig, 0);
  const client = rig.miner.pools.pools[0].client;
  const connects = client.counters.connects;
  // the giant line fails the connection; the notify after it in the same write belongs to no live session; the
  // next session gets a new extranonce1 and its first job a second late
  p0.setFault({ kind: 'giant-line', bytes: 70_000, everyConnection: false });
  await until(() => client.counters.connects > connects && client.state === 'ready', 10_000, 'reconnected');
  const n = accepted(p0);
  await until(() => accepted(p0) > n + 20, 20_000, 'shares on the new session');
  t.ok(client.counters.linesAfterEnd >= 1, 'the notify after the giant line was dropped');
  t.equal(refused(p0), 0, 'no submit with the old extranonce1');
});

t.test('3. a tiny difficulty is mined at the floor: bounded share rate, sane ticket, every share valid', async (t) => {
  const rig = await startRig({ pools: [{ difficulty: DIFF }], pool: { max_shares_per_s: 20 } });
  t.teardown(rig.stop);
  const [p0] = rig.pools;
  await steady(rig, 0);
  const floor = rig.miner.pools.difficultyFloor();
  t.ok(floor > 0, `floor ${floor.toExponential(2)} from the boards' hash rate`);
  p0.setFault({ kind: 'tiny-difficulty', difficulty: 1e-300 });
  const client = rig.miner.pools.pools[0].client;
  await until(() => client.difficulty === 1e-300, 10_000, 'the tiny difficulty');
  await sleep(500);
  const s0 = p0.counters.submits;
  const w0 = Date.now();
  await sleep(4000);
  const rate = (p0.counters.submits - s0) / ((Date.now() - w0) / 1000);
  t.ok(rate < 20 * 3, `${rate.toFixed(1)} submits/s at a 20/s floor (unbounded: tens of thousands)`);
  t.ok(client.counters.difficultyFloored > 0, 'jobs mined at the floor');
  const chain = rig.miner.chains[0];
  t.ok(chain.ticket > 8, `chips' ticket ${chain.ticket} zeros`);
  t.equal(chain.state, 'mining');
  t.ok(Date.now() - chain.readings.atMs < 5000, 'the safety loop keeps reading the board');
  t.equal(refused(p0), 0, 'no invalid submit');
});

t.test('4. a notify flood is coalesced: the chains get the newest job a few times a second', async (t) => {
  const rig = await startRig({ pools: [{ difficulty: DIFF }] });
  t.teardown(rig.stop);
  const [p0] = rig.pools;
  await steady(rig, 0);
  const chain = rig.miner.chains[0];
  const client = rig.miner.pools.pools[0].client;
  const sent0 = chain.counters.jobsSent;
  const jobs0 = client.counters.jobs;
  const acc0 = accepted(p0);
  p0.setFault({ kind: 'notify-flood', perS: 8000 });
  await sleep(5000);
  p0.setFault({ kind: 'none' });
  const notifies = client.counters.jobs - jobs0;
  const sent = chain.counters.jobsSent - sent0;
  t.comment(
    `${notifies} notifies in 5 s → ${sent} works sent to the board, ${client.counters.jobsCoalesced} coalesced`,
  );
  t.ok(notifies > 1000, 'the flood arrived');
  t.ok(sent < notifies / 10, 'work follows the newest job, not every notify');
  // every flood job is clean_jobs, so work is stale within the interval: how much is accepted meanwhile depends on
  // how fast the chips answer on this machine (bench/hostile reports it); mining right after is the requirement
  t.comment(`${accepted(p0) - acc0} shares accepted during the flood`);
  t.ok(Date.now() - chain.readings.atMs < 5000, 'the safety loop keeps reading the board');
  const n = accepted(p0);
  await until(() => accepted(p0) > n + 10, 15_000, 'mining after the flood');
  t.equal(chain.state, 'mining');
  t.equal(refused(p0), 0, 'no invalid submit');
});

t.test('5. an operator restart that resumes the session repeats no extranonce2: no duplicates', async (t) => {
  // one job for the whole test: the resumed session sends the same job again
  const rig = await startRig({ pools: [{ difficulty: DIFF, notifyIntervalMs: 600_000 }] });
  t.teardown(rig.stop);
  const [p0] = rig.pools;
  await steady(rig, 0, 30);
  const client = rig.miner.pools.pools[0].client;
  const en1 = client.extranonce1.toString('hex');
  await rig.miner.restart();
  await until(() => client.state === 'ready', 10_000, 'reconnected');
  t.equal(client.extranonce1.toString('hex'), en1, 'session resumed');
  const n = accepted(p0);
  await until(() => accepted(p0) > n + 60, 30_000, 'shares after the restart');
  t.notOk(p0.workerStats('w0').rejects['Duplicate share'], 'no duplicate share');
  t.equal(refused(p0), 0, 'no invalid submit');
});

t.test('7. priority at start: the primary wins even when the backup answers first', async (t) => {
  // the primary answers every message 400 ms late, so the backup is ready first
  const rig = await startRig({
    pools: [{ difficulty: DIFF, fault: { kind: 'slow', delayMs: 400 } }, { difficulty: DIFF }],
    pool: { request_timeout_s: 5 },
  });
  t.teardown(rig.stop);
  const [p0, p1] = rig.pools;
  await until(() => accepted(p0) > 5, 20_000, 'shares on the primary');
  t.equal(rig.miner.pools.current?.id, 0);
  t.equal(accepted(p1), 0, 'nothing mined on the backup');
  t.equal(p1.counters.submits, 0, 'nothing sent to the backup');
});

t.test('9. a rejecting pool is re-tested and taken back once it accepts again', async (t) => {
  const rig = await startRig({
    pools: [{ difficulty: DIFF }, { difficulty: DIFF }],
    pool: { reject_limit: 5, fallback_time_s: 2 },
  });
  t.teardown(rig.stop);
  const [p0, p1] = rig.pools;
  await steady(rig, 0);
  p0.setFault({ kind: 'reject' });
  await until(() => rig.miner.pools.pools[0].health === 'rejecting', 10_000, 'primary rejecting');
  await until(() => rig.miner.pools.current?.id === 1, 5000, 'on the backup');
  const n1 = accepted(p1);
  await until(() => accepted(p1) > n1 + 5, 10_000, 'shares on the backup');
  p0.setFault({ kind: 'none' });
  const n0 = accepted(p0);
  await until(() => accepted(p0) > n0 + 5, 20_000, 'the primary re-tested and mined again');
  t.equal(rig.miner.pools.pools[0].health, 'alive');
  t.equal(rig.miner.pools.current?.id, 0, 'back on the primary');
});

t.test(
  '10. no usable pool: the last pool cannot be disabled; boards idle and resume when a pool returns',
  async (t) => {
    const rig = await startRig({ pools: [{ difficulty: DIFF }], pool: { no_work_idle_s: 2 } });
    t.teardown(rig.stop);
    const [p0] = rig.pools;
    await steady(rig, 0);
    t.throws(
      () => rig.miner.pools.disable(0),
      new PoolOpError('ELAST', 'Cannot disable last active pool'),
      'as cgminer',
    );
    t.equal(rig.miner.pools.pools[0].health, 'alive', 'still enabled');
    await p0.kill();
    // the simulator's oracle: the board itself is powered down
    await until(() => rig.sim.oracle().boards[0].power === false, 20_000, 'the board powered down');
    t.equal(rig.miner.pools.noWork, true);
    await p0.revive();
    await until(() => rig.sim.oracle().boards[0].power === true, 20_000, 'the board powered up again');
    const n = accepted(p0);
    await until(() => accepted(p0) > n + 5, 30_000, 'mining again');
    t.equal(refused(p0), 0, 'no invalid submit');
  },
);

t.test('11. client.reconnect with a long wait: the pool is dead meanwhile and the backup mines', async (t) => {
  const rig = await startRig({ pools: [{ difficulty: DIFF }, { difficulty: DIFF }] });
  t.teardown(rig.stop);
  const [p0, p1] = rig.pools;
  await steady(rig, 0);
  p0.setFault({ kind: 'reconnect', waitS: 600 });
  await until(() => rig.miner.pools.current?.id === 1, 10_000, 'on the backup');
  const e0 = rig.miner.pools.pools[0];
  t.equal(e0.health, 'dead', 'not shown alive while it waits');
  t.ok(e0.client.reconnectAtMs > Date.now() + 500_000, 'reconnects in 10 minutes, as asked');
  const n = accepted(p1);
  await until(() => accepted(p1) > n + 5, 10_000, 'shares on the backup');
  const job = rig.miner.pools.pickJob();
  t.equal(typeof job?.poolId, 'number', 'a pool id is a number in jobs as in the manager');
  t.equal(refused(p0) + refused(p1), 0, 'no invalid submit');
});

t.test(
  '12. health by yield: a pool that refuses two shares in three, never many in a row, is left for the backup',
  async (t) => {
    const rig = await startRig({
      pools: [{ difficulty: DIFF }, { difficulty: DIFF }],
      pool: { reject_limit: 10, fallback_time_s: 4 },
    });
    t.teardown(rig.stop);
    const [p0, p1] = rig.pools;
    await steady(rig, 0);
    // a healthy pool at ~50 shares a second is never judged short: its yield is near 1
    await sleep(3000);
    const healthy = rig.miner.pools.shareYield(rig.miner.pools.pools[0]);
    t.equal(rig.miner.pools.pools[0].health, 'alive', 'a healthy pool stays alive');
    t.ok(
      healthy.accepted > healthy.expected * 0.7,
      `healthy yield: ${healthy.accepted} accepted of ${healthy.expected.toFixed(1)} expected`,
    );
    p0.setFault({ kind: 'reject-some', acceptEvery: 3 });
    const t0 = Date.now();
    await until(() => rig.miner.pools.current?.id === 1, 20_000, 'failover from the pool that refuses most shares');
    const e0 = rig.miner.pools.pools[0];
    t.comment(`left after ${Date.now() - t0} ms: ${e0.rejectingReason}`);
    t.equal(e0.health, 'rejecting', 'shown rejecting');
    t.match(e0.rejectingReason, /accepted \d+ of [\d.]+ shares expected/, 'the reason says what was expected');
    t.ok(e0.consecutiveRejects < 10, 'never reject_limit rejects in a row: only the yield could tell');
    const n1 = accepted(p1);
    await until(() => accepted(p1) > n1 + 20, 10_000, 'shares on the backup');
    t.equal(refused(p1), 0, 'the backup refused nothing');
    // the re-test after fallback_time_s finds it healthy again
    p0.setFault({ kind: 'none' });
    const n0 = accepted(p0);
    await until(() => accepted(p0) > n0 + 20 && rig.miner.pools.current?.id === 0, 30_000, 'back on the primary');
    t.equal(e0.health, 'alive');
  },
);

t.test(
  '13. a pool unreachable for a few seconds is a black hole while it lasts, not a short yield after',
  async (t) => {
    // one pool: were it judged short once back, the boards would idle for fallback_time_s after a network blip. A
    // long submit timeout: the shares lost to the blip outnumber those accepted before it, however slow this machine
    const rig = await startRig({ pools: [{ difficulty: DIFF }], pool: { submit_timeout_s: 8 } });
    t.teardown(rig.stop);
    const [p0] = rig.pools;
    const e0 = rig.miner.pools.pools[0];
    await steady(rig, 0);
    await sleep(1000);
    // the pool stops reading and answering (a hung pool or a link down); the submits go unanswered until the timeout
    p0.setFault({ kind: 'stall' });
    await until(() => e0.shunnedUntilMs > Date.now(), 20_000, 'the stalled pool taken for a black hole');
    p0.setFault({ kind: 'none' });
    await until(() => e0.pending === 0, 20_000, 'every submit answered or given up');
    const v = rig.miner.pools.shareYield(e0);
    t.comment(`accepted ${v.accepted}, unjudged ${v.unjudged} of ${v.expected.toFixed(1)} expected`);
    // the shares lost to the blip alone would have made the yield short had they been held against the pool
    t.ok(
      v.accepted < v.expected * YIELD_SHORT_RATIO && poissonLowerTailBound(v.accepted, v.expected) < YIELD_ALPHA,
      'the blip cost enough shares to matter',
    );
    t.equal(v.short, false, 'not short: unanswered shares are the black hole rule’s to judge');
    t.not(e0.health, 'rejecting');
  },
);

t.test(
  '14. a pool enforcing a raised difficulty at once, before any new job, is no bad pool: the job is mined at it',
  async (t) => {
    // no new job during the test: Stratum has the raise apply from the next one, this pool applies it at once
    const rig = await startRig({ pools: [{ difficulty: DIFF, notifyIntervalMs: 600_000 }, { difficulty: DIFF }] });
    t.teardown(rig.stop);
    const [p0, p1] = rig.pools;
    const e0 = rig.miner.pools.pools[0];
    await steady(rig, 0, 20);
    p0.setFault({ kind: 'raise-difficulty', factor: 4 });
    const n = accepted(p0);
    await until(
      () => accepted(p0) > n + 30 || e0.health !== 'alive',
      20_000,
      'shares at the raised difficulty, or a verdict on the pool',
    );
    const y = rig.miner.pools.shareYield(e0);
    t.comment(
      `${refused(p0)} refused by the pool; yield ${y.accepted} + ${y.unjudged} unjudged of ${y.expected.toFixed(1)}`,
    );
    t.equal(e0.health, 'alive', 'not taken for a pool that refuses valid shares');
    t.equal(rig.miner.pools.current?.id, 0, 'still mined on');
    t.equal(e0.client.currentJob?.difficulty, e0.client.difficulty, 'its job mined at the raised difficulty');
    t.equal(accepted(p1), 0, 'nothing moved to the backup');
  },
);

t.test('15. set_extranonce with no new job: the job is mined under the new extranonce1 at once', async (t) => {
  // no new job during the test: were the job still mined under the old extranonce1, every share would be thrown away
  // a low reject_limit: the shares the pool refuses because it replaced the extranonce1 under them must not count
  const rig = await startRig({ pools: [{ difficulty: DIFF, notifyIntervalMs: 600_000 }], pool: { reject_limit: 3 } });
  t.teardown(rig.stop);
  const [p0] = rig.pools;
  const client = rig.miner.pools.pools[0].client;
  await steady(rig, 0);
  const en1 = client.extranonce1.toString('hex');
  p0.setFault({ kind: 'set-extranonce' });
  await until(() => client.extranonce1.toString('hex') !== en1, 10_000, 'the new extranonce1');
  // this pool judges shares under the new extranonce1 from the moment it sends it: those already on their way
  // when it did are refused, a race no miner can win; none may be sent once we have it
  const r1 = refused(p0);
  const n = accepted(p0);
  await until(() => accepted(p0) > n + 20, 20_000, 'shares under the new extranonce1');
  t.equal(client.currentJob?.extranonce1.toString('hex'), client.extranonce1.toString('hex'), 'the job under it');
  t.equal(refused(p0), r1, `no submit under the old extranonce1 (${r1} on their way when it came)`);
  // a flood of them is handed on as a notify flood is: the newest now and then, not a rebuild of the work per line
  const chain = rig.miner.chains[0];
  const sent0 = chain.counters.jobsSent;
  const t0 = Date.now();
  for (let i = 0; i < 2000; i++) p0.setFault({ kind: 'set-extranonce' });
  const last = client.extranonce1.toString('hex');
  await until(() => client.extranonce1.toString('hex') !== last && client.counters.linesIn > 2000, 10_000, 'the flood');
  await sleep(1000);
  const sent = chain.counters.jobsSent - sent0;
  t.comment(`2000 set_extranonce → ${sent} works sent to the board in ${Date.now() - t0} ms`);
  t.ok(sent < 100, 'coalesced');
  t.equal(client.currentJob?.extranonce1.toString('hex'), client.extranonce1.toString('hex'), 'the newest one mined');
  const r2 = refused(p0);
  const m = accepted(p0);
  await until(() => accepted(p0) > m + 10, 20_000, 'shares after the flood');
  t.equal(refused(p0), r2, `no submit under an older extranonce1 (${r2 - r1} on their way during the flood)`);
  t.equal(rig.miner.pools.pools[0].health, 'alive', 'refusals of shares the pool overtook do not make it rejecting');
});

t.test('16. a pool found rejecting again at each re-test waits twice as long each time', async (t) => {
  // re-tested every fallback_time_s for ever, a pool keeping a third of the shares would mine most of the time at
  // a slow share rate (it takes that long to judge); the waits double as for a black hole
  const rig = await startRig({
    pools: [{ difficulty: DIFF }, { difficulty: DIFF }],
    pool: { fallback_time_s: 1 },
  });
  t.teardown(rig.stop);
  const [p0] = rig.pools;
  const m = rig.miner.pools;
  const e0 = m.pools[0];
  const planned: number[] = [];
  const marks: number[] = [];
  const offs: number[] = [];
  m.on('health', (e: typeof e0) => {
    if (e.id !== 0) return;
    if (e.health === 'rejecting') {
      planned.push(e.retestAtMs - e.rejectingSinceMs);
      marks.push(Date.now());
    } else if (e.health === 'alive' && marks.length > offs.length) offs.push(Date.now() - marks[marks.length - 1]);
  });
  await steady(rig, 0);
  p0.setFault({ kind: 'reject-some', acceptEvery: 3 });
  await until(() => offs.length >= 3, 45_000, 'three re-tests');
  t.comment(`planned waits ${planned.join(', ')} ms; waited ${offs.join(', ')} ms`);
  t.same(planned.slice(0, 3), [1000, 2000, 4000], 'each wait twice the one before');
  // (the manager's clock is read once a tick: what the test sees may be a tick's work shorter)
  t.ok(offs[2] >= 3000, 'and the third lasted about that long');
  t.equal(e0.rejectingRuns, planned.length);
});

t.test(
  '17. the only pool, short by its yield, is still mined: half the shares pay more than idle boards',
  async (t) => {
    const rig = await startRig({ pools: [{ difficulty: DIFF }], pool: { reject_limit: 10, no_work_idle_s: 2 } });
    t.teardown(rig.stop);
    const [p0] = rig.pools;
    await steady(rig, 0);
    p0.setFault({ kind: 'reject-some', acceptEvery: 2 });
    const e0 = rig.miner.pools.pools[0];
    await until(() => e0.health === 'rejecting', 20_000, 'judged short by its yield');
    t.ok(e0.rejectingByYield, e0.rejectingReason);
    const n = accepted(p0);
    await sleep(4000);
    t.ok(accepted(p0) > n + 20, `still mined on: ${accepted(p0) - n} shares accepted in 4 s`);
    t.equal(rig.miner.pools.noWork, false, 'the boards were not told to idle');
    t.equal(rig.sim.oracle().boards[0].power, true, 'the board is powered (oracle)');
    t.equal(rig.miner.pools.current?.id, 0, 'the pool is current as the last resort');
  },
);
