import { connect, createServer } from 'node:net';
import t from 'tap';
import { TurnBudget } from '../src/api/turn-budget.js';

/** Runs `n` takes as a burst of requests would, each recording the loop turn (a counter bumped every check phase). */
async function burst(budget: TurnBudget, n: number, onGo: (i: number) => void): Promise<void> {
  const all: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const w = budget.take();
    if (w) all.push(w.then(() => onGo(i)));
    else onGo(i);
  }
  await Promise.all(all);
}

t.test('a burst goes on a few per loop turn, in arrival order', async (t) => {
  const budget = new TurnBudget(4);
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const seen: { i: number; turn: number }[] = [];
  await burst(budget, 30, (i) => seen.push({ i, turn }));
  ticking = false;
  t.same(
    seen.map((s) => s.i),
    [...Array(30).keys()],
    'in arrival order',
  );
  const perTurn = new Map<number, number>();
  for (const s of seen) perTurn.set(s.turn, (perTurn.get(s.turn) ?? 0) + 1);
  t.ok(Math.max(...perTurn.values()) <= 4, `at most 4 a turn: ${[...perTurn.values()].join(' ')}`);
  t.ok(perTurn.size >= 8, `spread over ${perTurn.size} turns`);
  t.equal(budget.waiting, 0, 'nothing left waiting');
});

t.test('socket data that arrives during a burst is read before the burst ends', async (t) => {
  const server = createServer((s) => s.on('data', (b) => s.write(b)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const sock = connect(port, '127.0.0.1');
  t.teardown(() => sock.destroy());
  await new Promise<void>((r) => sock.once('connect', r));
  // warm the echo path
  sock.write('x');
  await new Promise((r) => sock.once('data', r));

  const budget = new TurnBudget(2);
  let done = 0;
  let doneWhenEchoed = -1;
  sock.once('data', () => {
    doneWhenEchoed = done;
  });
  // each request is busy a while, as a handler serialising a reply is: the echo comes back during the burst
  await burst(budget, 400, (i) => {
    if (i === 0) sock.write('y');
    const until = performance.now() + 0.05;
    while (performance.now() < until);
    done++;
  });
  await new Promise((r) => setTimeout(r, 50));
  t.ok(doneWhenEchoed >= 0 && doneWhenEchoed < 400, `the echo was read after ${doneWhenEchoed} of 400 requests`);

  // without the budget, the same burst runs in one turn and the echo waits for all of it
  let plain = 0;
  let plainWhenEchoed = -1;
  sock.once('data', () => {
    plainWhenEchoed = plain;
  });
  for (let i = 0; i < 400; i++) {
    if (i === 0) sock.write('z');
    const until = performance.now() + 0.05;
    while (performance.now() < until);
    plain++;
  }
  await new Promise((r) => setTimeout(r, 50));
  t.equal(plainWhenEchoed, 400, 'the contrast: one turn of 400 holds the echo until the end');
});

t.test('a quiet budget lets a lone request straight through', async (t) => {
  const budget = new TurnBudget(4);
  t.equal(budget.take(), undefined, 'the first of a turn goes on at once');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 4; i++) t.equal(budget.take(), undefined, `request ${i + 1} of a new turn goes on at once`);
  const fifth = budget.take();
  t.ok(fifth instanceof Promise, 'the fifth of the turn waits');
  await fifth;
  t.equal(budget.waiting, 0);
});
