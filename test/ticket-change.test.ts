import t from 'tap';
import { sleep, startRig, until } from './helpers/rig.js';

// TICKET_ZEROS moves while the chips hash one work: the tuner lowers it to measure chips and raises it again when a
// board is tuned, frequency changes move it by a bit. What the chips found under a lower ticket may still be on the
// link when the host raises it; those are good results of the work, not hardware errors (issue #11: every chip of a
// board failed its error test right after tuning, on the results of its last measuring second). Judged by the
// simulator's oracle: no chip runs past its limit, so the chips return no wrong nonce and any hardware error is the
// daemon's miscount.
t.test(
  'a ticket lowered and raised again on one work: late results are no hardware errors, later ones count in full',
  async (t) => {
    const rig = await startRig({ boards: 1, chips: 8, pools: [{ notifyIntervalMs: 300_000 }] });
    t.teardown(rig.stop);
    const chain = rig.miner.chains[0];
    await until(
      () => chain.state === 'mining' && chain.chips.length === 8 && chain.chips.every((c) => c.nonces > 0),
      60_000,
      'every chip mining',
    );
    const truthful = () => rig.sim.oracle().boards[0].chips.every((c) => c.freqMHz <= c.maxStableMHz);
    t.ok(truthful(), 'every chip under its limit: the chips return no wrong nonce');
    const sum = (k: 'hwErrors' | 'replies' | 'nonces') => chain.chips.reduce((a, c) => a + c[k], 0);

    // a new work now (the pool's notify), so that no other reaches the chips before the end (the next is due in 20 s)
    const sent = new Promise((r) => rig.sim.once('job', r));
    rig.pools[0].broadcastJob(false);
    await sent;
    const jobs = chain.counters.jobsSent;
    const high = chain.ticket;
    const errors0 = sum('hwErrors');
    chain.setNonceRate(200);
    const low = chain.ticket;
    t.ok(low < high - 2, `ticket lowered from ${high} to ${low} zeros`);
    const nonces0 = sum('nonces');
    await until(() => sum('nonces') > nonces0 + 200, 10_000, 'results under the lowered ticket');

    // the chips' replies now reach the host a second late: what they find under the low ticket is still on the link
    // when the ticket is raised
    t.equal(await rig.sim.fault({ kind: 'reply-delay', board: 0, ms: 1000 }), undefined, 'replies delayed');
    await sleep(500);
    const beforeRaise = sum('replies');
    chain.setNonceRate(undefined);
    t.equal(chain.ticket, high, 'ticket raised again');
    await rig.sim.fault({ kind: 'reply-delay', board: 0, on: false });
    await until(() => sum('replies') > beforeRaise + 300, 10_000, 'the held replies');
    await sleep(1500);
    const late = sum('replies') - beforeRaise;

    t.equal(chain.counters.jobsSent, jobs, 'no new work meanwhile: the late results are of the work sent before');
    t.ok(truthful(), 'still every chip under its limit');
    const errors = sum('hwErrors') - errors0;
    t.equal(errors, 0, `no hardware error among the ${late} replies that came after the raise (${errors} counted)`);

    // and what the results stand for: after the raise each is worth the raised ticket's hashes, on that same work as
    // before; the daemon's count of hashes follows the simulator's
    const hashes0 = chain.meter.totalHashes;
    const made0 = rig.sim.oracle().boards[0].hashes;
    await sleep(5000);
    const ratio = (chain.meter.totalHashes - hashes0) / (rig.sim.oracle().boards[0].hashes - made0);
    t.equal(chain.counters.jobsSent, jobs, 'still the same work');
    t.ok(ratio > 0.6 && ratio < 1.6, `hashes counted / hashes the chips made after the raise: ${ratio.toFixed(3)}`);
  },
);
