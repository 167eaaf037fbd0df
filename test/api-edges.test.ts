import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { startDaemon } from './helpers/daemon.js';
import { until } from './helpers/rig.js';

// Input and REST edges: each bad request gets a 4xx that says what and where; the daemon keeps running.

const d = await startDaemon({ api: { cgminer_allow: 'W:127.0.0.1/32' } });
t.teardown(() => d.stop());
const admin = readFileSync(join(d.dir, 'state', 'admin.token'), 'utf8').trim();
const http = async (method: string, path: string, body?: string) => {
  const r = await fetch(`${d.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${admin}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body,
  });
  const text = await r.text();
  return { status: r.status, text, json: JSON.parse(text) as Record<string, unknown> };
};
const cg = (command: string, parameter: string) =>
  new Promise<{ STATUS: { STATUS: string; Code: number; Msg: string }[] }>((resolve, reject) => {
    const s = net.connect(d.cgPort, '127.0.0.1', () => s.end(JSON.stringify({ command, parameter })));
    let out = '';
    s.on('data', (b) => {
      out += b.toString();
    });
    s.on('close', () => resolve(JSON.parse(out.replace(/\0$/, ''))));
    s.on('error', reject);
  });
await until(() => d.pool.workerStats('api.worker').accepted > 0, 20_000, 'mining');

t.test('cgminer addpool takes no worker longer than REST does', async (t) => {
  const r = await cg('addpool', `${d.pool.url},${'w'.repeat(7000)},x`);
  t.equal(r.STATUS[0].STATUS, 'E');
  t.equal(r.STATUS[0].Code, 53);
  t.equal(d.api.miner.pools.pools.length, 1, 'no pool added');
});

t.test('pool port 0 or 99999 over REST: 400 saying why, not 500', async (t) => {
  for (const port of [0, 99999]) {
    const r = await http(
      'POST',
      '/api/v1/pools',
      JSON.stringify({ url: `stratum+tcp://127.0.0.1:${port}`, user: 'w' }),
    );
    t.equal(r.status, 400, r.text);
    t.match(r.text, /not a TCP port/);
  }
});

t.test('a bad pool URL is described, not answered with the raw pattern', async (t) => {
  const r = await http('POST', '/api/v1/pools', JSON.stringify({ url: 'http://pool', user: 'w' }));
  t.equal(r.status, 400);
  t.match(r.text, /stratum\+tcp:\/\/host:port/);
  t.notMatch(r.text, /\^stratum|\[\^\\\\s/, 'no regular expression in the reply');
});

t.test('a deeply nested PATCH body: 400, not 500', async (t) => {
  const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
  const r = await http('PATCH', '/api/v1/config', deep);
  t.equal(r.status, 400, r.text.slice(0, 200));
  t.equal((await http('GET', '/api/v1/summary')).status, 200, 'still serving');
});

t.test('locate without a body says a JSON body is needed', async (t) => {
  const r = await fetch(`${d.base}/api/v1/boards/0/locate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}` },
  });
  t.equal(r.status, 400);
  const text = await r.text();
  t.notMatch(text, /body must be object/);
  t.match(text, /JSON/);
});

t.test('boards that are not there are 404 whatever their number', async (t) => {
  t.equal((await http('GET', '/api/v1/boards/3')).status, 404);
  t.equal((await http('GET', '/api/v1/boards/9')).status, 404);
  t.equal((await http('GET', '/api/v1/boards/x')).status, 400, 'not a number is still a bad request');
});

t.test('every operation of the core REST areas has a summary', async (t) => {
  const doc = (await http('GET', '/api/v1/openapi.json')).json as {
    paths: Record<string, Record<string, { summary?: string }>>;
  };
  const missing: string[] = [];
  const core = /^\/api\/v1\/(health|summary|stats|boards|pools|strategy|config|mining|restart|logs|audit|tokens)\b/;
  for (const [path, ops] of Object.entries(doc.paths).filter(([p]) => core.test(p)))
    for (const [method, op] of Object.entries(ops)) if (!op.summary) missing.push(`${method} ${path}`);
  t.same(missing, []);
});

t.test('a new pool goes below the others; the audit names it', async (t) => {
  const r = await http('POST', '/api/v1/pools', JSON.stringify({ url: d.pool.url, user: 'backup.worker' }));
  t.equal(r.status, 201);
  const top = Math.max(
    ...d.api.miner.pools.pools.filter((p) => p.config.user !== 'backup.worker').map((p) => p.config.priority),
  );
  t.ok((r.json.priority as number) > top, `priority ${r.json.priority} below the primary's ${top}`);
  const audit = readFileSync(join(d.dir, 'state', 'audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const entry = audit.reverse().find((a) => a.action === 'POST /api/v1/pools' && a.result === '201');
  t.match(entry?.target, new RegExp(`pool ${r.json.pool} stratum`));
});
