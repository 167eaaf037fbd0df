import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'smol-toml';
import t from 'tap';
import type { Config } from '../src/config/schema.js';
import { freePort, startDaemon } from './helpers/daemon.js';
import { until } from './helpers/rig.js';

// One owner for the config: REST, the cgminer API, runtime pool operations and SIGHUP all change it through the
// store; the file never receives an environment override; GET /config shows what runs.

const ENV_PASSWORD = 'env-only-secret-pw';
const envPort = await freePort();
const d = await startDaemon(
  { api: { cgminer_allow: 'W:127.0.0.1/32' } },
  {},
  {
    ASICD_POOLS_0_PASSWORD: ENV_PASSWORD,
    ASICD_API_PORT: String(envPort),
  },
);
t.teardown(() => d.stop());
const admin = readFileSync(join(d.dir, 'state', 'admin.token'), 'utf8').trim();
const http = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`${d.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${admin}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, json: JSON.parse(text) as Record<string, unknown> & unknown[], text };
};
const cg = (req: string) =>
  new Promise<string>((resolve, reject) => {
    const s = net.connect(d.cgPort, '127.0.0.1', () => s.write(req));
    let out = '';
    s.on('data', (b) => {
      out += b.toString();
    });
    s.on('end', () => resolve(out.replace(/\0$/, '')));
    s.on('error', reject);
  });
const fileConfig = () => parse(readFileSync(d.file, 'utf8')) as unknown as Config;
await until(() => d.pool.workerStats('api.worker').accepted > 0, 20_000, 'mining');

t.test('the daemon runs on the environment port; the file keeps its own', async (t) => {
  t.equal(d.daemon.store.running.api.port, envPort);
  t.not(fileConfig().api.port, envPort);
});

t.test('a pool added over REST survives a config PATCH, is shown by GET /config and is in the file', async (t) => {
  const add = await http('POST', '/api/v1/pools', { url: d.pool.url, user: 'added.worker', password: 'added-pw' });
  t.equal(add.status, 201, add.text);
  const patch = await http('PATCH', '/api/v1/config', { log: { level: 'debug' } });
  t.equal(patch.status, 200, patch.text);
  t.same(patch.json.applied, ['log.level']);
  const file = fileConfig();
  t.equal(file.log.level, 'debug');
  t.ok(
    file.pools.some((p) => p.user === 'added.worker'),
    'the added pool is in the file after the PATCH',
  );
  const shown = await http('GET', '/api/v1/config');
  t.ok(
    (shown.json.pools as { user: string }[]).some((p) => p.user === 'added.worker'),
    'GET /config shows the added pool',
  );
});

t.test('environment overrides are never written to the file', async (t) => {
  const pools = await http('GET', '/api/v1/pools');
  const other = (pools.json as { pool: number; user: string }[]).find((p) => p.user === 'added.worker');
  t.ok(other);
  t.equal((await http('POST', `/api/v1/pools/${other?.pool}/disable`)).status, 200);
  t.equal((await http('POST', `/api/v1/pools/${other?.pool}/enable`)).status, 200);
  const text = readFileSync(d.file, 'utf8');
  t.notOk(text.includes(ENV_PASSWORD), 'no environment password in the file');
  t.notOk(text.includes(String(envPort)), 'no environment port in the file');
  t.equal(fileConfig().pools[0].password, 'pool-secret-pw', "the file's own password stays");
  t.equal(d.daemon.store.running.pools[0].password, ENV_PASSWORD, 'the environment password is what runs');
  t.notOk((await http('GET', '/api/v1/config')).text.includes(ENV_PASSWORD), 'never shown');
});

t.test('PUT /strategy is kept by a later PATCH and saved', async (t) => {
  t.equal((await http('PUT', '/api/v1/strategy', { strategy: 'round-robin' })).status, 200);
  t.equal((await http('PATCH', '/api/v1/config', { log: { level: 'info' } })).status, 200);
  t.equal(fileConfig().pool.strategy, 'round-robin');
  t.equal(((await http('GET', '/api/v1/config')).json.pool as { strategy: string }).strategy, 'round-robin');
  t.equal((await http('PUT', '/api/v1/strategy', { strategy: 'failover' })).status, 200);
});

t.test('a cgminer ascset frequency is saved as the chain frequency', async (t) => {
  await until(() => d.api.miner.chains[0].state === 'mining', 30_000, 'board 0 mining');
  const r = JSON.parse(await cg(JSON.stringify({ command: 'ascset', parameter: '0,freq,425' }))) as {
    STATUS: { STATUS: string; Msg: string }[];
  };
  t.equal(r.STATUS[0].STATUS, 'S', r.STATUS[0].Msg);
  const want = d.daemon.store.running.chains[0].frequency_mhz;
  t.ok(Math.abs(want - 425) < 15, `saved ${want} MHz, the PLL's nearest to 425`);
  t.equal(fileConfig().chains[0].frequency_mhz, want);
});

t.test('concurrent PATCHes and pool adds: every acknowledged pool is in the file and in GET /config', async (t) => {
  const before = fileConfig().pools.length;
  const ops: Promise<{ status: number; text: string }>[] = [];
  for (let i = 0; i < 6; i++) {
    ops.push(http('POST', '/api/v1/pools', { url: d.pool.url, user: `burst.${i}` }));
    ops.push(http('PATCH', '/api/v1/config', { log: { stats_interval_s: 30 + i } }));
  }
  const results = await Promise.all(ops);
  const added = results.filter((r, i) => i % 2 === 0 && r.status === 201).length;
  t.equal(added, 6, 'all adds acknowledged');
  t.ok(
    results.every((r) => r.status === 200 || r.status === 201),
    'every request answered',
  );
  t.equal(fileConfig().pools.length, before + added, 'all in the file');
  t.equal(((await http('GET', '/api/v1/config')).json.pools as unknown[]).length, before + added, 'all shown');
});

t.test('SIGHUP: pools apply live, a restart-only change is saved but GET /config shows what runs', async (t) => {
  const doc = fileConfig();
  const runningPort = d.daemon.store.running.api.cgminer_port;
  const newPort = await freePort();
  doc.api.cgminer_port = newPort;
  doc.pools = doc.pools.slice(0, 2);
  writeFileSync(d.file, stringify(doc));
  const r = d.daemon.reload();
  t.ok(r.applied.includes('pools'), `pools applied live (${r.applied})`);
  t.ok(r.needRestart.includes('api.cgminer_port'), 'the cgminer port waits for a restart');
  const shown = await http('GET', '/api/v1/config');
  t.equal((shown.json.api as { cgminer_port: number }).cgminer_port, runningPort, 'GET /config shows the running port');
  t.match(shown.headers.get('x-asicd-pending-restart') ?? '', /api\.cgminer_port/);
  t.equal((shown.json.pools as unknown[]).length, 2);
  await until(() => d.daemon.store.running.pools.length === 2, 5000, 'pool list applied');
  t.equal(((await http('GET', '/api/v1/pools')).json as unknown[]).length, 2, 'the pool manager runs the new list');
  // a REST change afterwards keeps the file's pending change
  t.equal((await http('PATCH', '/api/v1/config', { log: { level: 'warn' } })).status, 200);
  t.equal(fileConfig().api.cgminer_port, newPort, 'pending change not lost');
});
