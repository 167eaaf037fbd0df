import { createHmac } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { validateConfig } from '../src/config/load.js';
import { AlertEngine } from '../src/monitor/alerts/engine.js';
import type { AlertInputs } from '../src/monitor/alerts/inputs.js';
import { Notifier } from '../src/notify/notifier.js';
import { registerSecret } from '../src/util/log.js';
import { memoryLogger } from './helpers/log.js';
import { tempDir } from './helpers/proc.js';
import { until } from './helpers/rig.js';

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  atMs: number;
}

/** A local HTTP server standing in for a service: records each request, answers with `reply`. */
async function receiver(
  t: { teardown: (fn: () => unknown) => void },
  reply: (r: Received, n: number, res: ServerResponse) => void,
) {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString('utf8');
    });
    req.on('end', () => {
      const r = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        atMs: Date.now(),
      };
      got.push(r);
      reply(r, got.length, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  );
  return { got, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const json = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
};

const inputs = (fanFailed: boolean): AlertInputs => ({
  boards: [],
  pools: [],
  fans: [{ fan: 2, rpm: fanFailed ? 0 : 4000, failed: fanFailed }],
  tuner: [],
});

async function setup(t: { teardown: (fn: () => unknown) => void }, notify: Record<string, unknown>) {
  const dir = tempDir('asicd-notify-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = validateConfig(
    { alerts: { miner_name: 'rack7-m12', fan_failed: { for_s: 0, cooldown_s: 0 } }, notify },
    'test',
  );
  const mem = memoryLogger('debug');
  // the engine's own 1 s loop reads what the test last stepped, so it never resolves an alert behind the test's back
  let current = inputs(false);
  const engine = new AlertEngine(cfg.alerts, dir, () => current, mem.log);
  const step = (atMs: number, next: ReturnType<typeof inputs>) => {
    current = next;
    engine.step(atMs, next);
  };
  const notifier = new Notifier(cfg.notify, engine, mem.log, 50);
  for (const s of [cfg.notify.telegram_bot_token, cfg.notify.discord_webhook_url, cfg.notify.webhook_hmac_secret])
    registerSecret(s);
  await engine.start();
  await notifier.start();
  t.teardown(async () => {
    await notifier.stop();
    await engine.stop();
  });
  return { engine, step, notifier, mem };
}

t.test('webhook: the event as JSON, signed with HMAC-SHA256 over the exact body', async (t) => {
  const rx = await receiver(t, (_r, _n, res) => json(res, 200, { ok: true }));
  const secret = 'hmac-shared-secret-1';
  const { step, notifier } = await setup(t, {
    webhook_url: `${rx.url}/hooks/asicd?token=abc123xyz`,
    webhook_hmac_secret: secret,
  });
  step(1000, inputs(true));
  step(2000, inputs(false));
  await until(() => notifier.queues.get('webhook')?.stats.sent === 2, 10_000, 'two deliveries');
  const [fire, resolve] = rx.got;
  t.equal(fire.method, 'POST');
  t.equal(fire.path, '/hooks/asicd?token=abc123xyz');
  t.equal(fire.headers['content-type'], 'application/json');
  const sig = createHmac('sha256', secret).update(fire.body).digest('hex');
  t.equal(fire.headers['x-asicd-signature-256'], `sha256=${sig}`, 'signature verifies');
  t.match(JSON.parse(fire.body), {
    source: 'asicd',
    miner: 'rack7-m12',
    rule: 'fan_failed',
    subject: 'fan 2',
    state: 'firing',
    severity: 'critical',
    message: 'fan 2 failed (0 rpm)',
    at: /^\d{4}-\d\d-\d\dT/,
  });
  t.match(JSON.parse(resolve.body), { state: 'resolved', message: 'fan 2 turns again (4000 rpm)' });
  t.same(notifier.queues.get('webhook')?.stats, {
    sent: 2,
    failed: 0,
    dropped: 0,
    retries: 0,
    queued: 0,
    lastError: '',
  });
});

t.test('Telegram sendMessage: the documented request; a 429 retry_after is honoured', async (t) => {
  const token = '123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0';
  const rx = await receiver(t, (_r, n, res) =>
    n === 1
      ? json(res, 429, {
          ok: false,
          error_code: 429,
          description: 'Too Many Requests: retry after 1',
          parameters: { retry_after: 1 },
        })
      : json(res, 200, { ok: true, result: { message_id: n, date: 0, chat: { id: -100123, type: 'channel' } } }),
  );
  const { step, notifier, mem } = await setup(t, {
    telegram_api_url: rx.url,
    telegram_bot_token: token,
    telegram_chat_id: '-100123',
  });
  step(1000, inputs(true));
  await until(() => rx.got.length === 2, 10_000, 'sent after the 429');
  for (const r of rx.got) {
    t.equal(r.method, 'POST');
    t.equal(r.path, `/bot${token}/sendMessage`);
    t.equal(r.headers['content-type'], 'application/json');
    t.same(JSON.parse(r.body), {
      chat_id: '-100123',
      text: '[CRITICAL] rack7-m12: fan 2 failed (0 rpm)',
      disable_notification: false,
    });
  }
  t.ok(rx.got[1].atMs - rx.got[0].atMs >= 950, 'waited the retry_after Telegram asked for');
  await until(() => notifier.queues.get('telegram')?.stats.sent === 1, 5000, 'counted sent');
  t.equal(notifier.queues.get('telegram')?.stats.retries, 1);
  const logs = JSON.stringify(mem.lines());
  t.notOk(logs.includes(token.split(':')[1]), 'bot token never logged');
});

t.test('Discord execute webhook: content without pings; 5xx retried with backoff; 401 given up at once', async (t) => {
  const rx = await receiver(t, (r, n, res) => {
    if (r.path.startsWith('/api/webhooks/111/'))
      return n === 1 ? json(res, 503, { message: 'unavailable' }) : json(res, 204);
    return json(res, 401, { message: '401: Unauthorized', code: 0 });
  });
  const hook = `${rx.url}/api/webhooks/111/wHk-T0ken_abcdefABCDEF`;
  const { step, notifier } = await setup(t, { discord_webhook_url: hook });
  step(1000, inputs(true));
  await until(() => notifier.queues.get('discord')?.stats.sent === 1, 10_000, 'delivered after a 503');
  t.equal(rx.got.length, 2);
  for (const r of rx.got) {
    t.equal(r.path, '/api/webhooks/111/wHk-T0ken_abcdefABCDEF');
    t.equal(r.headers['content-type'], 'application/json');
    t.same(JSON.parse(r.body), {
      content: '[CRITICAL] rack7-m12: fan 2 failed (0 rpm)',
      username: 'asicd',
      allowed_mentions: { parse: [] },
    });
  }
  t.match(notifier.queues.get('discord')?.stats, { retries: 1, failed: 0, lastError: 'HTTP 503' });

  const bad = await setup(t, { discord_webhook_url: `${rx.url}/api/webhooks/222/revoked-token-xyz`, retries: 5 });
  bad.step(1000, inputs(true));
  await until(() => bad.notifier.queues.get('discord')?.stats.failed === 1, 10_000, 'given up');
  t.equal(rx.got.filter((r) => r.path.includes('/222/')).length, 1, 'a 401 is not retried');
  const logs = JSON.stringify(bad.mem.lines());
  t.ok(logs.includes('notification not delivered'), 'logged');
  t.notOk(logs.includes('revoked-token-xyz'), 'webhook token never logged');
});

t.test('a receiver that hangs: queue bounded, oldest dropped, the engine never waits, stop aborts', async (t) => {
  const rx = await receiver(t, () => {
    // never answers
  });
  const { step, notifier } = await setup(t, { webhook_url: `${rx.url}/slow`, queue_max: 3, timeout_s: 60 });
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) step(i * 1000, inputs(i % 2 === 0));
  const spentMs = performance.now() - t0;
  t.comment(`20 alert events queued in ${spentMs.toFixed(1)} ms with the receiver hanging`);
  const s = notifier.queues.get('webhook')?.stats;
  t.equal(s?.queued, 4, 'one in flight, three waiting');
  t.equal(s?.dropped, 16, 'the rest dropped and counted');
  await until(() => rx.got.length === 1, 5000, 'one request in flight');
  await notifier.stop();
  t.equal(rx.got.length, 1, 'one at a time');
});
