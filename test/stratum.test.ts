import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import t from 'tap';
import { StratumClient, type StratumOptions } from '../src/pool/stratum/client.js';
import type { Job } from '../src/pool/work/work.js';
import { TestPool } from '../src/sim/pool/server.js';
import { cpuMine } from './helpers/cpuminer.js';
import { memoryLogger } from './helpers/log.js';
import { atFileEnd, tempDir } from './helpers/proc.js';

function client(url: string, over: Partial<StratumOptions> = {}) {
  const { log, lines } = memoryLogger();
  const c = new StratumClient({
    poolId: 0,
    url,
    user: 'worker1',
    password: 'x',
    userAgent: 'asicd/test',
    versionRolling: true,
    versionMask: 0x1fffe000,
    // generous: the CPU miner below blocks the loop, and a shared machine can make it slow
    requestTimeoutMs: 5000,
    silenceTimeoutMs: 20000,
    notifyTimeoutMs: 2000,
    backoffInitialMs: 50,
    backoffMaxMs: 400,
    log,
    ...over,
  });
  void atFileEnd(() => c.stop());
  return { c, lines };
}

const nextJob = (c: StratumClient) => once(c, 'job').then(([j]) => j as Job);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

t.test('handshake, version rolling, shares accepted and counted on both sides', async (t) => {
  const pool = new TestPool({ difficulty: 0.00003, versionMask: 0x1fffe000 });
  await pool.start();
  t.teardown(() => pool.stop());
  const { c } = client(pool.url);
  const jobP = nextJob(c);
  c.start();
  const job = await jobP;
  t.equal(c.state, 'ready');
  t.equal(job.versionMask, 0x1fffe000, 'BIP310 mask negotiated');
  t.equal(job.difficulty, 0.00003, 'difficulty of the job from set_difficulty');
  t.equal(job.extranonce2Size, 4);
  let diff = 0;
  for (let i = 0; i < 5; i++) {
    const share = cpuMine(job, i, { rollN: i + 1 });
    if (!share) throw new Error('no share found');
    const r = await c.submit(share);
    t.ok(r.accepted, `share ${i} accepted`);
    t.ok(r.latencyMs >= 0 && r.latencyMs < 2000, 'latency measured');
    diff += share.targetDifficulty;
  }
  t.equal(c.counters.accepted, 5);
  t.equal(pool.workerStats('worker1').accepted, 5);
  t.ok(Math.abs(pool.workerStats('worker1').acceptedDifficulty - diff) < 1e-12, 'pool counts accepted difficulty');
  await c.stop();
  await pool.stop();
});

t.test('the pool rejects with the usual reasons and the client reports them', async (t) => {
  const pool = new TestPool({ difficulty: 0.00003, workers: { worker1: 'x' } });
  await pool.start();
  t.teardown(() => pool.stop());
  const { c } = client(pool.url);
  const jobP = nextJob(c);
  c.start();
  const job = await jobP;
  const share = cpuMine(job, 7);
  if (!share) throw new Error('no share');
  t.ok((await c.submit(share)).accepted);
  t.match(await c.submit(share), { accepted: false, reason: /Duplicate share/ });
  t.match(await c.submit({ ...share, jobId: 'nope' }), { accepted: false, reason: /Job not found/ });
  t.match(await c.submit({ ...share, ntime: share.ntime + 3600 }), { accepted: false, reason: /ntime out of range/ });
  t.match(await c.submit({ ...share, versionBits: 0x00000001 }), { accepted: false, reason: /Invalid version bits/ });
  // the next nonces almost surely miss the target
  for (let n = share.nonce + 1; ; n++) {
    const r = await c.submit({ ...share, nonce: n >>> 0 });
    if (!r.accepted) {
      t.match(r.reason, /Low difficulty share/);
      break;
    }
  }
  const jobP2 = nextJob(c);
  pool.newBlock();
  const job2 = await jobP2;
  t.ok(job2.cleanJobs, 'a new block comes with clean_jobs');
  t.match(await c.submit({ ...share, extranonce2: '00000009' }), { accepted: false, reason: /Stale job/ });
  const bad = client(pool.url, { user: 'intruder' });
  const dead = once(bad.c, 'dead');
  bad.c.start();
  const [reason] = await dead;
  t.match(reason, /not authorized/);
  await bad.c.stop();
  await c.stop();
  await pool.stop();
});

t.test('reconnects after RST with backoff and resumes the session', async (t) => {
  const pool = new TestPool({ difficulty: 0.00003 });
  await pool.start();
  t.teardown(() => pool.stop());
  const { c } = client(pool.url);
  const first = nextJob(c);
  c.start();
  await first;
  const en1 = c.extranonce1.toString('hex');
  const sid = c.sessionId;
  const dead = once(c, 'dead');
  await pool.kill();
  t.match((await dead)[0], /ECONNRESET|closed/);
  await new Promise((r) => setTimeout(r, 300));
  t.not(c.state, 'ready');
  const again = nextJob(c);
  await pool.revive();
  await again;
  t.equal(c.sessionId, sid, 'same session id');
  t.equal(c.extranonce1.toString('hex'), en1, 'resumed: same extranonce1');
  t.ok(c.counters.connects >= 2);
  await c.stop();
  await pool.stop();
});

t.test('a silent pool is dead after the silence timeout', async (t) => {
  const pool = new TestPool({ difficulty: 0.00003 });
  await pool.start();
  t.teardown(() => pool.stop());
  const { c } = client(pool.url, { silenceTimeoutMs: 400 });
  const first = nextJob(c);
  c.start();
  await first;
  const t0 = Date.now();
  pool.setFault({ kind: 'stall' });
  const [reason] = await once(c, 'dead');
  t.match(reason, /silent/);
  t.comment(`detected after ${Date.now() - t0} ms (timeout 400 ms)`);
  await c.stop();
  await pool.stop();
});

/** A scripted pool: answers the handshake, then runs `then` with the socket. */
async function scripted(then: (sock: net.Socket, send: (o: unknown) => void) => void, opts: { notify?: boolean } = {}) {
  const server = net.createServer((sock) => {
    const send = (o: unknown) => sock.write(`${typeof o === 'string' ? o : JSON.stringify(o)}\n`);
    let buf = '';
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const m = JSON.parse(line);
        sock.emit('rpc', m);
        if (m.method === 'mining.configure') send({ id: m.id, result: { 'version-rolling': false }, error: null });
        if (m.method === 'mining.subscribe')
          send({ id: m.id, result: [[['mining.notify', 'abc']], '01020304', 4], error: null });
        if (m.method === 'mining.authorize') {
          send({ id: m.id, result: true, error: null });
          if (opts.notify !== false) {
            send({ id: null, method: 'mining.set_difficulty', params: [2] });
            send({
              id: null,
              method: 'mining.notify',
              params: ['j1', '00'.repeat(32), '01', '02', [], '20000000', '1705ae3a', '647025b5', true],
            });
            then(sock, send);
          }
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  void atFileEnd(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  return { server, url: `stratum+tcp://127.0.0.1:${port}` };
}

t.test('no notify after authorize means a dead connection', async (t) => {
  const { server, url } = await scripted(() => {}, { notify: false });
  const { c } = client(url, { notifyTimeoutMs: 300 });
  c.start();
  const [reason] = await once(c, 'dead');
  t.match(reason, /no job from the pool after authorize/);
  await c.stop();
  server.close();
});

t.test(
  'server requests: ping, get_version, show_message, set_extranonce, set_version_mask, unknown methods',
  async (t) => {
    const replies: unknown[] = [];
    const { server, url } = await scripted((sock, send) => {
      sock.on('rpc', (m) => replies.push(m));
      send({ id: 50, method: 'mining.ping', params: [] });
      send({ id: 51, method: 'client.get_version', params: [] });
      send({ id: null, method: 'client.show_message', params: ['hello miner'] });
      send({ id: null, method: 'mining.set_extranonce', params: ['aabbccdd', 6] });
      send({ id: null, method: 'mining.set_version_mask', params: ['00ff0000'] });
      send({ id: 52, method: 'mining.frobnicate', params: [] });
    });
    const { c, lines } = client(url);
    c.start();
    await until(() => replies.length >= 3);
    t.same(
      replies.map((r) => (r as { id: number }).id),
      [50, 51, 52],
    );
    t.match(replies[0], { result: 'pong' });
    t.match(replies[1], { result: 'asicd/test' });
    t.match(replies[2], { error: [-3, 'Method not found', null] });
    t.equal(c.extranonce1.toString('hex'), 'aabbccdd');
    t.equal(c.extranonce2Size, 6);
    t.equal(c.versionMask, 0x1fff0000 & 0x00ff0000, 'mask limited to what we asked for');
    t.equal(c.counters.unknownMethods, 1);
    t.ok(lines().some((l) => l.message === 'hello miner'));
    await c.stop();
    server.close();
  },
);

t.test('client.reconnect: same host followed, another host refused by default', async (t) => {
  const pool = new TestPool({ difficulty: 0.00003 });
  await pool.start();
  t.teardown(() => pool.stop());
  const replies: unknown[] = [];
  const { server, url } = await scripted((sock, send) => {
    sock.on('rpc', (m) => replies.push(m));
    send({ id: 7, method: 'client.reconnect', params: ['evil.example.com', 3333, 0] });
    setTimeout(() => send({ id: null, method: 'client.reconnect', params: ['127.0.0.1', pool.port, 0] }), 100);
  });
  const { c } = client(url);
  c.start();
  await until(() => c.endpoint === `127.0.0.1:${pool.port}` && c.state === 'ready');
  t.match(replies[0], { id: 7, error: [20, /not allowed/] });
  t.ok(pool.connectionCount >= 1, 'now mining on the pool it was sent to');
  await c.stop();
  server.close();
  await pool.stop();
});

t.test('invalid messages from a pool are logged, counted and survived', async (t) => {
  const { server, url } = await scripted((_sock, send) => {
    const bad = [
      'not json',
      '[1,2,3]',
      '{"id":{"x":1},"result":true}',
      '{"id":null,"method":"mining.notify","params":["j",1,2]}',
      '{"id":null,"method":"mining.notify","params":["j","zz","01","02",[],"20000000","1705ae3a","647025b5",true]}',
      '{"id":null,"method":"mining.set_difficulty","params":[0]}',
      '{"id":null,"method":"mining.set_difficulty","params":[-5]}',
      '{"id":null,"method":"mining.set_difficulty","params":["NaN"]}',
      '{"id":null,"method":"mining.set_difficulty","params":[1e300]}',
      '{"id":null,"method":"mining.set_extranonce","params":["xyz",4]}',
      '{"id":null,"method":"mining.set_version_mask","params":[12]}',
      '{"id":999,"result":true,"error":null}',
      '{"id":null,"method":"mining.notify","params":{}}',
    ];
    for (const b of bad) send(b);
    send({ id: null, method: 'mining.set_difficulty', params: [0.5] });
  });
  const { c } = client(url);
  c.start();
  await until(() => c.difficulty === 0.5);
  t.equal(c.state, 'ready', 'still connected');
  t.equal(c.counters.invalidLines, 4);
  t.equal(c.counters.invalidMessages, 9);
  await c.stop();
  server.close();
});

t.test('a line over the limit drops the connection and reconnects', async (t) => {
  const { server, url } = await scripted((sock) => {
    sock.write(`{"id":null,"method":"client.show_message","params":["${'a'.repeat(70000)}"]}\n`);
  });
  const { c } = client(url);
  c.start();
  const [reason] = await once(c, 'dead');
  t.match(reason, /over the limit/);
  t.equal(c.counters.oversizedLines, 1);
  await until(() => c.counters.connects >= 2);
  await c.stop();
  server.close();
});

t.test('TLS: verified with a CA file, refused without it, allowed when insecure', async (t) => {
  const dir = tempDir();
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const pool = new TestPool({ difficulty: 0.00003 });
  await pool.start();
  t.teardown(() => pool.stop());
  // TLS terminator in front of the test pool
  const front = tls.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (s) => {
    const back = net.connect(pool.port, '127.0.0.1');
    s.pipe(back).pipe(s);
    s.on('error', () => back.destroy());
    back.on('error', () => s.destroy());
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const url = `stratum+ssl://127.0.0.1:${(front.address() as net.AddressInfo).port}`;
  const ok = client(url, { tlsCaFile: cert });
  const j = nextJob(ok.c);
  ok.c.start();
  const job = await j;
  const share = cpuMine(job, 3);
  if (!share) throw new Error('no share');
  t.ok((await ok.c.submit(share)).accepted, 'share accepted over TLS');
  await ok.c.stop();
  const untrusted = client(url);
  untrusted.c.start();
  const [reason] = await once(untrusted.c, 'dead');
  t.match(reason, /self[- ]signed|certificate/i);
  await untrusted.c.stop();
  const insecure = client(url, { tlsInsecure: true });
  const j2 = nextJob(insecure.c);
  insecure.c.start();
  await j2;
  t.pass('insecure flag connects');
  await insecure.c.stop();
  front.close();
  await pool.stop();
});

t.test('test pool: vardiff retargets, notify and new-block intervals', async (t) => {
  // a share in ~9k hashes: at 1e-5 (43k) a loaded machine's CPU mining outlasted the 700 ms block interval, every
  // share went stale, and vardiff (which counts accepted shares) never retargeted
  const START = 0.000002;
  const pool = new TestPool({
    difficulty: START,
    vardiff: { sharesPerMinute: 6, minDifficulty: 1e-9, maxDifficulty: 1, retargetS: 0.3 },
    notifyIntervalMs: 150,
    newBlockIntervalMs: 700,
  });
  await pool.start();
  t.teardown(() => pool.stop());
  const { c } = client(pool.url);
  t.teardown(async () => {
    await c.stop();
    await pool.stop();
  });
  const jobs: Job[] = [];
  c.on('job', (j: Job) => jobs.push(j));
  c.start();
  await until(() => jobs.length > 0);
  // submit fast: far above 6 per minute (until the pool retargets; a slow CPU needs longer to find shares)
  const end = Date.now() + 20_000;
  let en2 = 0;
  while (Date.now() < end && c.difficulty === START) {
    const job = c.currentJob;
    if (!job) break;
    const s = cpuMine(job, en2++);
    if (s) await c.submit(s);
    await new Promise((r) => setTimeout(r, 5));
  }
  await until(() => jobs.some((j) => j.difficulty > START), 10_000);
  t.ok(c.difficulty > START, `vardiff raised the difficulty to ${c.difficulty}`);
  await until(() => jobs.filter((j) => j.cleanJobs).length >= 2 && jobs.length >= 5, 10_000);
  t.ok(jobs.length >= 5, `${jobs.length} jobs from the notify interval`);
  t.ok(jobs.filter((j) => j.cleanJobs).length >= 2, 'clean_jobs from the block interval');
});

t.test('asicd pool runs from the CLI and rejects bad flags', async (t) => {
  const { spawnTs, runCli } = await import('./helpers/proc.js');
  const bad = await runCli(['pool', '--difficulty=-3']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--difficulty: expected/);
  const p = spawnTs('src/cli.ts', ['pool', '--port', '0', '--difficulty', '0.00003']);
  await p.waitFor('test pool listening');
  const url = /"url":"([^"]+)"/.exec(p.stdout())?.[1] ?? '';
  const { c } = client(url);
  const jobP = nextJob(c);
  c.start();
  const share = cpuMine(await jobP, 1);
  if (!share) throw new Error('no share');
  t.ok((await c.submit(share)).accepted);
  await c.stop();
  p.child.kill('SIGTERM');
  t.equal((await p.exit).code, 0);
});

t.test('suggest_difficulty and extranonce.subscribe are requests: their answers are not strays', async (t) => {
  const pool = new TestPool({ difficulty: 0.00003 });
  await pool.start();
  t.teardown(() => pool.stop());
  const { c, lines } = client(pool.url, { suggestDifficulty: 0.0001, extranonceSubscribe: true });
  t.teardown(() => c.stop());
  const jobP = nextJob(c);
  c.start();
  await jobP;
  // the answers come right after authorize's; a later ping round trip proves they have been read
  await c.request('mining.ping', []).catch(() => undefined);
  await until(() => c.counters.linesIn >= 6);
  t.equal(c.counters.invalidMessages, 0, 'no answer counted invalid');
  t.notOk(
    lines().some((l) => l.msg === 'response to no request of ours'),
    'no "response to no request" in the log',
  );
});

t.test('a junk flood is counted exactly and logged a few times a minute', async (t) => {
  const pool = new TestPool({ difficulty: 0.00003 });
  await pool.start();
  t.teardown(() => pool.stop());
  const { c, lines } = client(pool.url);
  t.teardown(() => c.stop());
  const jobP = nextJob(c);
  c.start();
  await jobP;
  pool.setFault({ kind: 'junk', perS: 4000 });
  await until(() => c.counters.invalidLines >= 2000, 20_000);
  pool.setFault({ kind: 'none' });
  const logged = lines().filter((l) => l.msg === 'ignored an invalid line from the pool');
  t.ok(logged.length <= 5, `${logged.length} warnings for ${c.counters.invalidLines} junk lines`);
  await until(() => c.counters.invalidLines === pool.counters.faultLines, 5000);
  t.equal(c.counters.invalidLines, pool.counters.faultLines, 'every junk line counted');
  t.equal(c.state, 'ready', 'still connected');
});

t.test('a pool that fails every connection after authorize backs off instead of reconnecting at once', async (t) => {
  const pool = new TestPool({
    difficulty: 0.00003,
    fault: { kind: 'giant-line', bytes: 70_000, everyConnection: true },
  });
  await pool.start();
  t.teardown(() => pool.stop());
  const { c, lines } = client(pool.url, { backoffInitialMs: 50, backoffMaxMs: 400 });
  t.teardown(() => c.stop());
  c.start();
  await sleep(3000);
  await c.stop();
  // backoff 50 → 400 ms: ~10 attempts in 3 s; starting afresh after each authorize would make ~60
  t.ok(c.counters.connects <= 15, `${c.counters.connects} connections in 3 s`);
  t.ok(c.counters.oversizedLines >= 3, 'each failed on the giant line');
  t.equal(c.counters.jobs, 0, 'the notify after each giant line was never taken');
  const warned = lines().filter((l) => l.msg === 'pool sent a line over the limit; reconnecting');
  t.ok(warned.length <= 5, `${warned.length} warnings for ${c.counters.oversizedLines} giant lines`);
});

t.test('a job behind a giant line in the same chunk belongs to no session: never handed out', async (t) => {
  const pool = new TestPool({ difficulty: 0.00003 });
  await pool.start();
  t.teardown(() => pool.stop());
  const { c } = client(pool.url);
  t.teardown(() => c.stop());
  const handed: { jobId: string; en1: string; sessionEn1: string }[] = [];
  c.on('job', (j: Job) =>
    handed.push({ jobId: j.jobId, en1: j.extranonce1.toString('hex'), sessionEn1: c.extranonce1.toString('hex') }),
  );
  c.start();
  await until(() => handed.length === 1);
  const connects = c.counters.connects;
  // not resumable while the fault is on: the next session has a new extranonce1 and its first job a second late
  pool.setFault({ kind: 'giant-line', bytes: 70_000, everyConnection: false });
  await until(() => c.counters.connects > connects && handed.length >= 2, 10_000);
  t.equal(c.counters.linesAfterEnd, 1, 'the notify after the giant line was dropped');
  t.not(handed[1].sessionEn1, handed[0].sessionEn1, 'a new extranonce1');
  t.same(
    handed.filter((h) => h.en1 !== h.sessionEn1),
    [],
    'every job handed out carries the extranonce1 of the session it is mined on',
  );
});
