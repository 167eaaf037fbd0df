import t from 'tap';
import { CgminerApi } from '../src/api/cgminer.js';
import { cgminerAsk } from './helpers/cgminer.js';
import { startDaemon } from './helpers/daemon.js';
import { memoryLogger } from './helpers/log.js';
import { until } from './helpers/rig.js';

// The cgminer API runs in a worker thread: many clients cost the mining thread a bounded number of reports, and a
// worker that dies is replaced while mining goes on.

const d = await startDaemon();
t.teardown(() => d.stop());
await until(() => d.pool.workerStats('api.worker').accepted > 0, 20_000, 'mining');

t.test('200 clients asking at once cost the mining thread a handful of reports, not 200', async (t) => {
  const { log } = memoryLogger('warn');
  const api = new CgminerApi(d.api.miner, log, { host: '127.0.0.1', port: 0, allow: '127.0.0.0/8' });
  await api.start();
  t.teardown(() => api.stop());
  const replies = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      cgminerAsk(api.port, '{"command":"summary+pools"}', `127.0.3.${1 + (i % 40)}`).catch(() => ''),
    ),
  );
  const answered = replies.filter((r) => r.includes('"SUMMARY"') && r.includes('"POOLS"')).length;
  t.ok(answered > 0, `${answered} of 200 answered (the rest refused by the connection limit)`);
  const made = api.made.reports;
  // each report is made at most once per reuse window (250 ms), however many ask: a slow machine spreads the
  // 200 requests over a few windows, never over 200
  t.ok(made >= 2 && made <= 2 * 40, `${made} reports made for ${answered} answered requests`);
});

t.test('a privileged command is run on the mining thread and the next read shows its effect', async (t) => {
  const { log } = memoryLogger('warn');
  const w = new CgminerApi(d.api.miner, log, { host: '127.0.0.1', port: 0, allow: 'W:127.0.0.1/32' });
  await w.start();
  t.teardown(() => w.stop());
  const pools = async () => (JSON.parse(await cgminerAsk(w.port, '{"command":"pools"}')) as { POOLS: unknown[] }).POOLS;
  const n = (await pools()).length;
  const added = JSON.parse(
    await cgminerAsk(w.port, JSON.stringify({ command: 'addpool', parameter: `${d.pool.url},w2,x` })),
  );
  t.match(added.STATUS[0], { STATUS: 'S', Code: 55 });
  t.equal((await pools()).length, n + 1, 'the pool list read right after shows the added pool');
  t.match(
    JSON.parse(await cgminerAsk(w.port, JSON.stringify({ command: 'removepool', parameter: String(n) }))).STATUS[0],
    {
      Code: 68,
    },
  );
});

t.test(
  'a parameter a report ignores does not make it anew: stats|1 … stats|200 cost a handful of reports',
  async (t) => {
    const { log } = memoryLogger('warn');
    const api = new CgminerApi(d.api.miner, log, { host: '127.0.0.1', port: 0, allow: '127.0.0.0/8' });
    await api.start();
    t.teardown(() => api.stop());
    const made0 = api.made.reports;
    let answered = 0;
    // one after another, so no connection limit refuses any: 200 distinct parameters, each answered
    for (let i = 0; i < 200; i++) {
      const r = JSON.parse(await cgminerAsk(api.port, JSON.stringify({ command: 'stats', parameter: String(i) })));
      if (r.STATS?.length > 0) answered++;
    }
    t.equal(answered, 200, 'every request answered with the stats');
    const made = api.made.reports - made0;
    // reused for 250 ms whatever the parameter: one report per window over the run, never one per request
    t.ok(made < 100, `${made} reports made for 200 requests with 200 distinct parameters`);
    const asc = JSON.parse(await cgminerAsk(api.port, JSON.stringify({ command: 'asc', parameter: '1' })));
    t.match(asc, { ASC: [{ ASC: 1 }] }, 'a report that uses its parameter still gets it');
  },
);

t.test('a worker that dies is replaced and serves again; mining goes on meanwhile', async (t) => {
  const { log, lines } = memoryLogger('info');
  const api = new CgminerApi(d.api.miner, log, { host: '127.0.0.1', port: 0, allow: '127.0.0.1/32' });
  await api.start();
  t.teardown(() => api.stop());
  const port = api.port;
  t.match(JSON.parse(await cgminerAsk(port, '{"command":"summary"}')), { SUMMARY: [{}] });
  const accepted = d.pool.workerStats('api.worker').accepted;
  const first = api.thread;
  await first?.terminate();
  await until(() => api.thread !== undefined && api.thread !== first, 20_000, 'a new worker');
  await until(() => lines().some((l) => l.msg === 'cgminer API worker restarted'), 20_000, 'the restart is logged');
  t.ok(
    lines().some((l) => l.msg === 'cgminer API worker stopped; restarting it' && l.level === 40),
    'the stop is logged as a warning',
  );
  t.equal(api.port, port, 'the same port');
  t.match(JSON.parse(await cgminerAsk(port, '{"command":"summary"}')), { SUMMARY: [{}] }, 'served again');
  await until(() => d.pool.workerStats('api.worker').accepted > accepted, 20_000, 'shares still accepted');
  await api.stop();
  t.equal(api.thread, undefined, 'stopping ends the worker');
  const refused = await cgminerAsk(port, '{"command":"summary"}').then(
    () => false,
    () => true,
  );
  t.ok(refused, 'nothing listens after stop');
});

t.test('a worker that hangs (answers no ping) is terminated and replaced; mining goes on meanwhile', async (t) => {
  const { log, lines } = memoryLogger('info');
  const api = new CgminerApi(d.api.miner, log, {
    host: '127.0.0.1',
    port: 0,
    allow: '127.0.0.1/32',
    hangMs: 3000,
    workerModule: {
      base: new URL('./fixtures/hanging-cgminer-worker.ts', import.meta.url).href,
      name: 'hanging-cgminer-worker',
    },
  });
  await api.start();
  t.teardown(() => api.stop());
  const port = api.port;
  t.match(JSON.parse(await cgminerAsk(port, '{"command":"summary"}')), { SUMMARY: [{}] }, 'served before');
  const hung = api.thread;
  hung?.postMessage({ type: 'test-hang' });
  const accepted = d.pool.workerStats('api.worker').accepted;
  await until(() => lines().some((l) => l.msg === 'cgminer API worker hung; replacing it'), 20_000, 'hang noticed');
  t.ok(
    lines().some((l) => l.msg === 'cgminer API worker hung; replacing it' && l.level === 50),
    'the hang is logged as an error',
  );
  await until(() => api.thread !== undefined && api.thread !== hung, 20_000, 'a new worker');
  await until(() => lines().some((l) => l.msg === 'cgminer API worker restarted'), 20_000, 'the restart is logged');
  t.equal(api.port, port, 'the same port');
  t.match(JSON.parse(await cgminerAsk(port, '{"command":"summary"}')), { SUMMARY: [{}] }, 'served again');
  await until(() => d.pool.workerStats('api.worker').accepted > accepted, 20_000, 'shares still accepted');
  t.pass('mining went on');
});
