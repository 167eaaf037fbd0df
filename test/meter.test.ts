// A chip's hash meter keeps its buckets in 32-bit floats: for the work chips report (powers of two) it reads what a
// meter in doubles reads, exactly while the tickets of one second are close, within 2^-24 per addition otherwise.
import t from 'tap';
import { ticketDifficulty } from '../src/device/maijie-l7/pll.js';
import { HashMeter } from '../src/monitor/meter.js';

/** A chip at up to 64 nonces a second for 20 minutes, its ticket wandering over `spread` zeros now and then. */
function run(spread: number): { wide: HashMeter; compact: HashMeter; checks: [number, number][] } {
  let now = 1_700_000_000_000;
  const clock = () => now;
  const wide = new HashMeter(clock, 900);
  const compact = new HashMeter(clock, 900, true);
  const checks: [number, number][] = [];
  let zeros = 16;
  let seed = 7;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (let s = 0; s < 1200; s++) {
    if (rand() < 0.02) zeros = 8 + Math.floor(rand() * spread);
    const n = Math.floor(rand() * 65);
    for (let i = 0; i < n; i++) {
      // a nonce under a lower ticket than the board's counts at that ticket
      const hashes = ticketDifficulty(Math.max(8, zeros - Math.floor(rand() * 3))) * 2 ** 32;
      wide.add(hashes, now + i);
      compact.add(hashes, now + i);
    }
    now += 1000;
    if (s % 50 === 0) for (const w of [5, 60, 300, 900] as const) checks.push([compact.rate(w), wide.rate(w)]);
  }
  return { wide, compact, checks };
}

t.test('tickets a few zeros apart: the compact meter reads exactly what the one in doubles reads', async (t) => {
  const { wide, compact, checks } = run(6);
  t.ok(checks.length > 50);
  t.ok(
    checks.every(([a, b]) => a === b),
    `${checks.filter(([a, b]) => a !== b).length} of ${checks.length} window reads differ`,
  );
  t.same(compact.windows(), wide.windows());
  t.equal(compact.totalHashes, wide.totalHashes);
});

t.test('tickets 32 zeros apart: within a millionth', async (t) => {
  const { checks } = run(32);
  const worst = Math.max(...checks.map(([a, b]) => (b === 0 ? Math.abs(a) : Math.abs(a - b) / b)));
  t.ok(worst < 1e-6, `worst relative difference ${worst}`);
});
