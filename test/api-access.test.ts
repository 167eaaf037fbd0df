import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { REQUESTS_PER_S_PER_ADDRESS, TOTAL_FAILURES_PER_MIN } from '../src/api/access.js';
import { startDaemon } from './helpers/daemon.js';
import { until } from './helpers/rig.js';

// Web access: WebSocket topics with the roles of REST, Origin and Host checks, tokens only in headers, rate limits
// per address and for all addresses together.

const d = await startDaemon();
t.teardown(() => d.stop());
const admin = readFileSync(join(d.dir, 'state', 'admin.token'), 'utf8').trim();
const port = Number(new URL(d.base).port);
await until(() => d.pool.workerStats('api.worker').accepted > 0, 20_000, 'mining');

/** A raw HTTP request (node:http, so Host, Origin and the local address can be chosen). */
function request(
  path: string,
  o: { method?: string; headers?: Record<string, string>; localAddress?: string; body?: string } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? 'GET',
        headers: o.headers,
        localAddress: o.localAddress,
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

async function token(role: string): Promise<string> {
  const r = await request('/api/v1/tokens', {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `t-${role}`, role }),
  });
  return (JSON.parse(r.text) as { token: string }).token;
}

/** Opens a socket, subscribes, and returns what the server answered to the subscription. */
async function subscribe(
  protocols: string[] | undefined,
  topics: string[],
  headers: Record<string, string> = {},
): Promise<{ status: number; reply?: { subscribed?: string[]; error?: string }[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws`, protocols, { headers });
  const opened = await new Promise<number>((resolve) => {
    ws.once('open', () => resolve(101));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(-1));
  });
  if (opened !== 101) return { status: opened };
  const replies: { subscribed?: string[]; error?: string }[] = [];
  ws.on('message', (m) => replies.push(JSON.parse(String(m))));
  ws.send(JSON.stringify({ subscribe: topics }));
  await until(() => replies.some((r) => r.subscribed), 5000, 'subscription answer');
  ws.close();
  return { status: 101, reply: replies.filter((r) => !('topic' in r)) };
}

t.test('a WebSocket client flooding messages is closed; another is served', async (t) => {
  const flood = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws`);
  await new Promise((r) => flood.once('open', r));
  const closed = new Promise<number>((r) => flood.once('close', (code) => r(code)));
  for (let i = 0; i < 200; i++) flood.send('{"subscribe":["summary"]}');
  t.equal(await closed, 1008, 'closed as a policy violation');
  const calm = await subscribe(undefined, ['summary']);
  t.same(calm.reply?.find((r) => r.subscribed)?.subscribed, ['summary'], 'a calm client is answered');
});

t.test('WebSocket logs need the operator role, as REST /logs does', async (t) => {
  const open = await subscribe(undefined, ['summary', 'logs']);
  t.same(open.reply?.find((r) => r.subscribed)?.subscribed, ['summary'], 'a tokenless loopback reader: no logs');
  t.match(open.reply?.find((r) => r.error)?.error, /logs.*operator/);
  const viewer = await token('viewer');
  const v = await subscribe(['asicd', `asicd.bearer.${viewer}`], ['logs']);
  t.same(v.reply?.find((r) => r.subscribed)?.subscribed, [], 'a viewer: no logs');
  const op = await token('operator');
  const o = await subscribe(['asicd', `asicd.bearer.${op}`], ['logs']);
  t.same(o.reply?.find((r) => r.subscribed)?.subscribed, ['logs'], 'an operator gets logs');
  t.equal((await request('/api/v1/logs', { headers: { authorization: `Bearer ${viewer}` } })).status, 403);
});

t.test('Origin: pages from elsewhere are refused, the API own page is not', async (t) => {
  const evil = await subscribe(undefined, ['summary'], { origin: 'http://evil.example' });
  t.equal(evil.status, 403, 'tokenless socket from another origin refused');
  t.equal((await request('/api/v1/summary', { headers: { origin: 'http://evil.example' } })).status, 403);
  const same = await request('/api/v1/summary', { headers: { origin: `http://127.0.0.1:${port}` } });
  t.equal(same.status, 200, 'same origin served');
});

t.test('Host: tokenless loopback reads only under a loopback name (DNS rebinding)', async (t) => {
  t.equal((await request('/api/v1/summary', { headers: { host: `localhost:${port}` } })).status, 200);
  t.equal((await request('/api/v1/summary', { headers: { host: `127.0.0.1:${port}` } })).status, 200);
  const rebound = await request('/api/v1/summary', { headers: { host: `evil.example:${port}` } });
  t.equal(rebound.status, 401, 'a rebinding page names its own host: no tokenless read');
  const withToken = await request('/api/v1/summary', {
    headers: { host: `miner-17.farm:${port}`, authorization: `Bearer ${admin}` },
  });
  t.equal(withToken.status, 200, 'with a token any Host is fine');
});

t.test('tokens are taken from headers only, never from the URL', async (t) => {
  const r = await request(`/api/v1/config?token=${admin}`);
  t.equal(r.status, 401);
  const ws = await subscribe(undefined, ['logs'], {});
  t.same(ws.reply?.find((x) => x.subscribed)?.subscribed, []);
});

t.test('request rate per address: a flood is slowed, other addresses are served', async (t) => {
  // batches until the bucket runs dry: any pace above the rate gets there (the limit is in requests, not time)
  let sent = 0;
  let refused = 0;
  while (refused === 0 && sent < REQUESTS_PER_S_PER_ADDRESS * 60) {
    const batch = await Promise.all(
      Array.from({ length: REQUESTS_PER_S_PER_ADDRESS }, () =>
        request('/api/v1/health', { localAddress: '127.0.0.5' }),
      ),
    );
    sent += batch.length;
    refused += batch.filter((r) => r.status === 429).length;
  }
  t.ok(refused > 0, `${refused} of ${sent} refused`);
  t.equal((await request('/api/v1/health', { localAddress: '127.0.0.6' })).status, 200, 'another address served');
});

t.test('failed token guesses spread over many addresses meet a limit for all (last test: it locks out)', async (t) => {
  const statuses: number[] = [];
  for (let i = 0; i < TOTAL_FAILURES_PER_MIN + 10; i++) {
    const r = await request('/api/v1/summary', {
      headers: { authorization: `Bearer asicd_guess${i}` },
      localAddress: `127.0.2.${1 + (i % 10)}`,
    });
    statuses.push(r.status);
  }
  t.ok(statuses.includes(429), 'guesses are refused once the total is reached');
  t.equal(statuses.filter((s) => s === 401).length, TOTAL_FAILURES_PER_MIN, 'no more guesses checked than the total');
});
