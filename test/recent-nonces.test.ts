// A board's window of recent nonces: a repeat inside it is caught, its memory stays at its capacity however many
// nonces pass, and a slot's key never collides with another slot's.
import t from 'tap';
import { RecentNonces } from '../src/chain/recent-nonces.js';
import { nonceKey } from '../src/chain/work-queue.js';

t.test('repeats inside the window are caught; the window holds its capacity and no more', async (t) => {
  const r = new RecentNonces(1000);
  const k = (i: number) => RecentNonces.key(i % 16, nonceKey((i * 2654435761) >>> 0, i & 0xffff));
  for (let i = 0; i < 100_000; i++) {
    if (r.has(k(i))) t.fail(`nonce ${i} taken for a repeat`);
    r.add(k(i));
  }
  t.equal(r.size, 1000, 'bounded');
  t.ok(r.has(k(99_999)) && r.has(k(99_000)), 'the last 1000 are remembered');
  t.notOk(r.has(k(98_999)), 'older ones are forgotten');
  r.clear();
  t.equal(r.size, 0);
  t.notOk(r.has(k(99_999)));
});

t.test('the same nonce in two job slots is two keys', async (t) => {
  const top = nonceKey(0xffff_ffff, 0xffff);
  t.not(RecentNonces.key(0, top), RecentNonces.key(1, 0));
  t.ok(Number.isSafeInteger(RecentNonces.key(15, top)), 'exact for every slot, nonce and version');
});
