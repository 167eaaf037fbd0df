// A board's window of recent nonces: a repeat inside it is caught, its memory stays at its capacity however many
// nonces pass, and a slot's key never collides with another slot's.
import fc from 'fast-check';
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

t.test(
  'has, add and size agree with a plain set of the last `capacity` keys, through collisions and evictions',
  async (t) => {
    // a tiny window and keys drawn from a small range: long probe runs, repeats and deletions inside them
    await fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 200 })), { maxLength: 400 }),
        (capacity, draws) => {
          const r = new RecentNonces(capacity);
          const ring: number[] = [];
          const model = new Set<number>();
          for (const [slot, n] of draws) {
            // far apart and close together: the high bits (slot) and the low ones both vary
            const key = RecentNonces.key(slot, n * 0x1_0000_0001);
            if (r.has(key) !== model.has(key)) return false;
            if (ring.length === capacity) model.delete(ring.shift() as number);
            ring.push(key);
            model.add(key);
            r.add(key);
            if (r.size !== model.size) return false;
          }
          return [...model].every((k) => r.has(k)) && ring.every((k) => model.has(k) === r.has(k));
        },
      ),
      { numRuns: 300 },
    );
    t.pass('300 random sequences agree with the model');
  },
);
