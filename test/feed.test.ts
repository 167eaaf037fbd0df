import t from 'tap';
import { createMetrics } from '../src/api/metrics.js';
import { poolsView } from '../src/api/views.js';
import { ChainLink, type NonceReply } from '../src/device/maijie-l7/chain-link.js';
import { McuClient } from '../src/device/maijie-l7/mcu.js';
import { REG } from '../src/device/maijie-l7/registers.js';
import { openChainTransport, openMcuTransport } from '../src/device/transport/index.js';
import { chipSpaceHashes } from '../src/sim/board/exhaustion.js';
import { MODEL } from '../src/sim/board/physics.js';
import { Simulator } from '../src/sim/board/simulator.js';
import { memoryLogger } from './helpers/log.js';
import { tempDir } from './helpers/proc.js';
import { sleep, startRig, until } from './helpers/rig.js';
import { SIM_JOB } from './helpers/sim-job.js';

const JOB = SIM_JOB;

t.test(
  'a chip with no new work goes quiet once it has walked its job, and the oracle counts its idle time',
  async (t) => {
    const sim = new Simulator({
      boards: 1,
      chips: 4,
      seed: 1,
      // fast enough that the scale model returns nonces within the short real walk below
      scaleShift: 26,
      link: 'pty',
      dir: tempDir('asicd-feed-'),
      fans: 2,
      controlPort: 0,
      exhaustion: true,
    });
    await sim.start();
    t.teardown(() => sim.stop());
    const b = sim.info()[0];
    const { log } = memoryLogger('warn');
    const uart = openChainTransport(b.uart);
    await uart.open();
    t.teardown(() => uart.close());
    const mcu = new McuClient(openMcuTransport(b.spi), log);
    await mcu.transport.open();
    t.teardown(() => mcu.transport.close());
    await mcu.setPower(true);
    await sleep(300);
    const link = new ChainLink(uart, log);
    // 10 version bits: each chip walks interval × 2^24 × 2^10 hashes, ~3 s (time for a loaded host's hashing
    // thread to return nonces before the chips run dry)
    const maskBits = 0x3ff;
    // a loaded host may miss a reply deadline during enumeration: try again, as the daemon's bring-up does
    let e: Awaited<ReturnType<ChainLink['enumerate']>> | undefined;
    for (let attempt = 0; !e; attempt++) {
      try {
        e = await link.enumerate(4, maskBits << 13, 4);
      } catch (err) {
        if (attempt >= 4) throw err;
        await sleep(500);
      }
    }
    t.equal(e.found, 4);
    await link.rampFrequency(e.addresses, 50, 400, 0);
    const hashInfo = await link.read(e.addresses[0], REG.HASH_INFO);
    const cores = hashInfo >>> 16;
    const walkMs = (chipSpaceHashes(e.interval, maskBits) / (400e6 * cores)) * 1000;
    t.ok(walkMs > 1000 && walkMs < 5000, `the walk takes ${walkMs.toFixed(0)} ms at 400 MHz`);

    const got: { atMs: number; r: NonceReply }[] = [];
    link.onNonce = (r) => got.push({ atMs: Date.now(), r });
    const sentMs = Date.now();
    link.sendJob(JOB);
    // nonces come while the chips walk, then stop: wait well past the walk
    await until(() => got.length > 0, 10_000, 'first nonce');
    await sleep(walkMs + 1500);
    const quietFromMs = Date.now() - 1000;
    const late = got.filter((g) => g.atMs > quietFromMs);
    t.ok(got.length > 0, `${got.length} nonces before exhaustion`);
    t.equal(late.length, 0, 'no nonce in the last second: every chip is out of work');

    const o1 = sim.oracle().boards[0];
    const elapsedMs = Date.now() - sentMs;
    t.ok(o1.exhaustion, 'the oracle reports exhaustion');
    for (const c of o1.chips) {
      t.ok(c.exhausted, `chip ${c.index} exhausted`);
      // the oracle's idle time is the time since the job less the walk (frame transit and ramp slack allowed)
      t.ok(
        c.exhaustedIdleMs > elapsedMs - walkMs - 500 && c.exhaustedIdleMs < elapsedMs - walkMs + 100,
        `chip ${c.index} idle ${c.exhaustedIdleMs.toFixed(0)} ms ≈ ${elapsedMs} − ${walkMs.toFixed(0)} ms`,
      );
    }
    t.ok((o1.exhaustion?.share ?? 0) > 0.2, `board exhausted share ${o1.exhaustion?.share}`);

    // new work: the chips are fed and hash again. A hashing thread starved by a loaded host for the whole walk
    // returns its nonces only once the chips are spent (and so never): a few fresh jobs give it a few windows.
    const before = got.length;
    const newIds = [16, 24, 32];
    for (const jobId of newIds) {
      link.sendJob({ ...JOB, jobId });
      await sleep(200);
      if (jobId === newIds[0]) t.notOk(sim.oracle().boards[0].chips[0].exhausted, 'fed again');
      const t0 = Date.now();
      while (Date.now() - t0 < walkMs && !got.slice(before).some((g) => newIds.includes(g.r.jobId))) await sleep(50);
    }
    t.ok(
      got.slice(before).some((g) => newIds.includes(g.r.jobId)),
      'nonces of the new work (an old job’s nonce in flight may slip through first)',
    );
  },
);

const MINE_MS = 15_000;

t.test('with version rolling the daemon refreshes from the real rate: the oracle sees the chips fed', async (t) => {
  // 12 version bits on 16 chips: a chip walks its job in ~3 s at 400 MHz — well under the refresh cap, so a policy
  // that reads the scale model's rate instead (20 s) leaves the chips idle most of the time
  const rig = await startRig({
    pools: [{ difficulty: 1e-4 }],
    pool: { version_mask: '01ffe000' },
    exhaustion: true,
  });
  t.teardown(() => rig.stop());
  const chain = rig.miner.chains[0];
  await until(() => chain.state === 'mining' && chain.counters.jobsSent > 0, 60_000, 'mining');
  await sleep(MINE_MS);
  const o = rig.sim.oracle().boards[0];
  const share = o.exhaustion?.share ?? 1;
  t.ok(share < 0.02, `oracle idle share ${(share * 100).toFixed(3)} % with version rolling`);
  const f = chain.feedStatus();
  t.ok(f.walkMs > 1000 && f.walkMs < 10_000, `walk ${f.walkMs.toFixed(0)} ms`);
  t.ok(f.refreshMs < f.walkMs, `refresh ${f.refreshMs.toFixed(0)} ms inside the walk`);
  t.ok(f.idleShare < 0.02, `daemon predicts ${(f.idleShare * 100).toFixed(3)} %`);
  t.equal(poolsView(rig.miner)[0].versionRolling, 'granted');
});

t.test('without version rolling the daemon predicts the idle share the oracle measures, and says why', async (t) => {
  const rig = await startRig({
    pools: [{ difficulty: 1e-4, grantVersionRolling: false }],
    exhaustion: true,
  });
  t.teardown(() => rig.stop());
  const chain = rig.miner.chains[0];
  await until(() => chain.state === 'mining' && chain.counters.jobsSent > 0, 60_000, 'mining');
  await sleep(MINE_MS);
  const measured = rig.sim.oracle().boards[0].exhaustion?.share ?? 0;
  const f = chain.feedStatus();
  t.ok(measured > 0.5, `chips mostly idle: oracle ${(measured * 100).toFixed(2)} %`);
  t.ok(
    Math.abs(f.idleShare - measured) <= 0.05 * f.idleShare,
    `predicted ${(f.idleShare * 100).toFixed(3)} % vs measured ${(measured * 100).toFixed(3)} %`,
  );
  const realWalkMs = (chipSpaceHashes(16, 0) / (400e6 * MODEL.cores)) * 1000;
  t.ok(Math.abs(f.walkMs - realWalkMs) < realWalkMs * 0.05, `walk ${f.walkMs.toFixed(3)} ms at real speed`);
  t.ok(f.reachableShare < 1, `reachable share ${f.reachableShare.toFixed(3)}: the UART cannot keep up`);
  t.equal(poolsView(rig.miner)[0].versionRolling, 'not granted');
  const text = await createMetrics(rig.miner).metrics();
  t.match(text, /asicd_pool_version_rolling_granted\{pool="\d+"\} 0/);
  t.match(text, /asicd_board_feed_idle_ratio\{board="0"\} 0\.9/);
});

t.test('prefer_version_rolling: a pool that refuses rolling ranks after one that grants it', async (t) => {
  const rig = await startRig({
    pools: [{ difficulty: 1e-4, grantVersionRolling: false }, { difficulty: 1e-4 }],
    pool: { prefer_version_rolling: true, fallback_time_s: 1 },
    exhaustion: true,
  });
  t.teardown(() => rig.stop());
  const [p0, p1] = rig.miner.pools.pools;
  await until(() => p0.client.state === 'ready' && p1.client.state === 'ready', 30_000, 'both pools ready');
  await until(() => rig.miner.pools.current?.id === p1.id, 30_000, 'the granting pool chosen');
  t.equal(rig.miner.pools.current?.id, p1.id, 'the backup that grants rolling is mined on, not the primary');
  t.same(
    poolsView(rig.miner).map((v) => v.versionRolling),
    ['not granted', 'granted'],
  );
});
