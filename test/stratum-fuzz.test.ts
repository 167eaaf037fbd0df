import { once } from 'node:events';
import net from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import { StratumClient } from '../src/pool/stratum/client.js';
import {
  checkDifficulty,
  checkExtranonce,
  checkNotify,
  checkVersionMask,
  parseLine,
  rejectReason,
} from '../src/pool/stratum/messages.js';
import type { Job } from '../src/pool/work/work.js';
import { TestPool } from '../src/sim/pool/server.js';
import { LineSplitter } from '../src/util/lines.js';
import { cpuMine } from './helpers/cpuminer.js';
import { memoryLogger } from './helpers/log.js';

const hostileValue = fc.oneof(
  fc.anything(),
  fc.constantFrom(0, -1, 1e300, -1e300, Number.MAX_SAFE_INTEGER, '', 'NaN', 'zz', null, [], {}),
);

t.test('message checks never throw, whatever the JSON', async () => {
  fc.assert(
    fc.property(fc.string(), (s) => {
      parseLine(s);
    }),
  );
  fc.assert(
    fc.property(fc.array(hostileValue, { maxLength: 12 }), (params) => {
      checkNotify(params);
      checkDifficulty(params);
      checkExtranonce(params[0], params[1], 'x');
      checkVersionMask(params[0], 'x');
      rejectReason(params[0]);
    }),
  );
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const r = parseLine(JSON.stringify(v));
      return r.kind === 'invalid' || r.kind === 'request' || r.kind === 'response';
    }),
  );
});

t.test('difficulties 0, negative, NaN, huge are refused', async (t) => {
  for (const d of [0, -1, Number.NaN, 1e300, '1', null]) t.notOk(checkDifficulty([d]).ok, String(d));
  t.ok(checkDifficulty([0.0001]).ok);
});

t.test('line splitter: every chunking gives the same lines; long lines are cut and reported', async () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).filter((s) => !s.includes('\n') && !s.includes('\r')),
      ),
      fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1 }),
      (lines, cuts) => {
        const text = Buffer.from(lines.map((l) => `${l}\n`).join(''));
        const got: string[] = [];
        const sp = new LineSplitter(
          64,
          (l) => got.push(l),
          () => {},
        );
        let off = 0;
        let i = 0;
        while (off < text.length) {
          const n = cuts[i++ % cuts.length];
          sp.push(text.subarray(off, off + n));
          off += n;
        }
        return JSON.stringify(got) === JSON.stringify(lines.filter((l) => l.length > 0));
      },
    ),
  );
  fc.assert(
    fc.property(fc.integer({ min: 11, max: 500 }), fc.integer({ min: 1, max: 50 }), (len, chunk) => {
      const got: string[] = [];
      let over = 0;
      const sp = new LineSplitter(
        10,
        (l) => got.push(l),
        () => over++,
      );
      const text = Buffer.from(`${'x'.repeat(len)}\nok\n`);
      for (let o = 0; o < text.length; o += chunk) sp.push(text.subarray(o, o + chunk));
      return over === 1 && JSON.stringify(got) === '["ok"]';
    }),
  );
});

/** Lines a hostile or broken pool (or miner) might send. */
const hostileLine = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1').replaceAll('\n', ' ')),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record({
      id: fc.oneof(fc.integer(), fc.constant(null), fc.string()),
      method: fc.constantFrom(
        'mining.notify',
        'mining.set_difficulty',
        'mining.set_extranonce',
        'mining.set_version_mask',
        'client.reconnect',
        'client.show_message',
        'mining.submit',
        'mining.subscribe',
        'mining.authorize',
        'mining.configure',
        'mining.suggest_difficulty',
        'x',
      ),
      params: fc.oneof(fc.array(hostileValue, { maxLength: 10 }), hostileValue),
    })
    .map((o) => JSON.stringify(o)),
);

t.test('a client fed hostile lines stays up and counts them', async (t) => {
  const lines = fc.sample(
    hostileLine.filter((l) => !l.includes('client.reconnect')),
    { numRuns: 400, seed: 42 },
  );
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.on('data', (d) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        const m = JSON.parse(line);
        if (m.method === 'mining.subscribe')
          sock.write(`${JSON.stringify({ id: m.id, result: [[], '00000001', 4], error: null })}\n`);
        else if (m.method === 'mining.authorize') {
          sock.write(`${JSON.stringify({ id: m.id, result: true, error: null })}\n`);
          sock.write(`${lines.join('\n')}\n`);
          sock.write('{"id":null,"method":"mining.set_difficulty","params":[0.125]}\n');
        } else if (m.id !== undefined && m.method === 'mining.configure') {
          sock.write(`${JSON.stringify({ id: m.id, result: {}, error: null })}\n`);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { log } = memoryLogger('fatal');
  const c = new StratumClient({
    poolId: 0,
    url: `stratum+tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    user: 'u',
    password: 'x',
    userAgent: 'fuzz',
    versionRolling: true,
    versionMask: 0x1fffe000,
    requestTimeoutMs: 1000,
    silenceTimeoutMs: 5000,
    notifyTimeoutMs: 5000,
    log,
  });
  t.teardown(() => {
    server.close();
    return c.stop();
  });
  c.start();
  const end = Date.now() + 5000;
  while (c.difficulty !== 0.125 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  t.equal(c.difficulty, 0.125, 'the valid message after the garbage was still understood');
  const bad = c.counters.invalidLines + c.counters.invalidMessages + c.counters.unknownMethods;
  t.ok(bad > 100, `counted ${bad} bad lines`);
  t.ok(c.state === 'ready' || c.counters.connects > 1, 'still connected, or reconnected');
  await c.stop();
  server.close();
});

t.test('the test pool fed hostile lines stays up and still accepts real shares', async (t) => {
  const pool = new TestPool({ difficulty: 0.00003 });
  await pool.start();
  t.teardown(() => pool.stop());
  const lines = fc.sample(hostileLine, { numRuns: 500, seed: 7 });
  for (let k = 0; k < 4; k++) {
    const sock = net.connect(pool.port, '127.0.0.1');
    sock.on('error', () => {});
    await once(sock, 'connect');
    sock.write(
      '{"id":1,"method":"mining.subscribe","params":[]}\n{"id":2,"method":"mining.authorize","params":["w","x"]}\n',
    );
    sock.write(`${lines.slice(k * 125, (k + 1) * 125).join('\n')}\n`);
    sock.write(`${'y'.repeat(20000)}\n`);
    await new Promise((r) => setTimeout(r, 50));
    sock.destroy();
  }
  t.ok(pool.counters.invalidLines > 50, `pool counted ${pool.counters.invalidLines} invalid lines`);
  t.ok(pool.counters.oversizedLines >= 1, 'oversized line cut');
  const { log } = memoryLogger('fatal');
  const c = new StratumClient({
    poolId: 0,
    url: pool.url,
    user: 'good',
    password: 'x',
    userAgent: 'fuzz',
    versionRolling: true,
    versionMask: 0x1fffe000,
    // generous: the CPU miner below blocks the loop, and on a busy machine for seconds
    requestTimeoutMs: 10000,
    silenceTimeoutMs: 30000,
    notifyTimeoutMs: 5000,
    log,
  });
  t.teardown(async () => {
    await c.stop();
    await pool.stop();
  });
  const jobP = once(c, 'job');
  c.start();
  const [job] = (await jobP) as [Job];
  const share = cpuMine(job, 1);
  if (!share) throw new Error('no share');
  t.ok((await c.submit(share)).accepted, 'pool still judges real shares');
});

t.test('the test pool refuses suggested difficulties 0, negative, NaN-like and huge, and counts them', async (t) => {
  const pool = new TestPool({ difficulty: 1 });
  await pool.start();
  t.teardown(() => pool.stop());
  const sock = net.connect(pool.port, '127.0.0.1');
  await once(sock, 'connect');
  const replies: { id: number; error: unknown }[] = [];
  sock.on('data', (d) => {
    for (const l of d.toString().split('\n').filter(Boolean)) replies.push(JSON.parse(l));
  });
  const bad = [0, -3, 'NaN', 1e300, null];
  bad.forEach((v, i) => {
    sock.write(`${JSON.stringify({ id: i + 1, method: 'mining.suggest_difficulty', params: [v] })}\n`);
  });
  sock.write(`${JSON.stringify({ id: 99, method: 'mining.suggest_difficulty', params: [0.5] })}\n`);
  const end = Date.now() + 3000;
  while (replies.length < bad.length + 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  t.equal(
    replies.filter((r) => r.id <= bad.length && r.error).length,
    bad.length,
    'each bad value answered with an error',
  );
  t.match(
    replies.find((r) => r.id === 99),
    { result: true, error: null },
  );
  t.equal(pool.counters.invalidLines, bad.length);
  sock.destroy();
  await pool.stop();
});
