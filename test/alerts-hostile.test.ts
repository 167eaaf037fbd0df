import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import t from 'tap';
import { validateConfig } from '../src/config/load.js';
import { AlertEngine } from '../src/monitor/alerts/engine.js';
import type { AlertInputs } from '../src/monitor/alerts/inputs.js';
import { Notifier } from '../src/notify/notifier.js';
import { startDaemon } from './helpers/daemon.js';
import { memoryLogger } from './helpers/log.js';
import { startMosquitto } from './helpers/mosquitto.js';
import { tempDir } from './helpers/proc.js';
import { until } from './helpers/rig.js';

// Hostile peers: webhook receivers, a broker's publishers and a damaged history file, against the real parts.

const fan = (failed: boolean): AlertInputs => ({
  boards: [],
  pools: [],
  fans: [{ fan: 0, rpm: failed ? 0 : 4000, failed }],
  tuner: [],
});

/** The alert engine and notifiers as the daemon wires them, on a fan that the test fails with `engine.step`. */
async function notifierOn(t: { teardown: (fn: () => unknown) => void }, notify: Record<string, unknown>) {
  const dir = tempDir('asicd-hostile-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = validateConfig({ alerts: { fan_failed: { for_s: 0, cooldown_s: 0 } }, notify }, 'test');
  const mem = memoryLogger('debug');
  const engine = new AlertEngine(cfg.alerts, dir, () => fan(false), mem.log);
  const notifier = new Notifier(cfg.notify, engine, mem.log, 50);
  await engine.start();
  await notifier.start();
  t.teardown(async () => {
    await notifier.stop();
    await engine.stop();
  });
  return { engine, notifier };
}

/** A receiver that answers 200 at once and then never finishes its body, sending it with `feed`. */
async function endlessReceiver(t: { teardown: (fn: () => unknown) => void }, feed: (res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      feed(res);
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
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

for (const [what, feed] of [
  [
    'floods an endless body',
    (res: ServerResponse) => {
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const more = () => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on('drain', more);
      more();
    },
  ],
  [
    'trickles its body a byte at a time, forever',
    (res: ServerResponse) => {
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), 50);
      res.on('close', () => clearInterval(timer));
    },
  ],
] as const) {
  t.test(`a webhook receiver that says 200 and then ${what}: delivered once, reply read bounded`, async (t) => {
    const url = await endlessReceiver(t, feed);
    const { engine, notifier } = await notifierOn(t, { webhook_url: url, timeout_s: 1, retries: 0 });
    const heapBefore = process.memoryUsage().arrayBuffers;
    engine.step(1000, fan(true));
    const q = notifier.queues.get('webhook');
    await until(() => (q?.stats.sent ?? 0) + (q?.stats.failed ?? 0) >= 1, 15_000, 'delivery settled');
    t.same(
      { sent: q?.stats.sent, failed: q?.stats.failed, lastError: q?.stats.lastError },
      { sent: 1, failed: 0, lastError: '' },
      'a 2xx whose body never ends is a delivery, not a timeout',
    );
    // informative only: the reply was cut at its cap rather than read for the whole timeout
    t.comment(`array buffers grew by ${Math.round((process.memoryUsage().arrayBuffers - heapBefore) / 1024)} KiB`);
  });
}

t.test('a receiver that redirects: not followed, not retried, and the reason is plain', async (t) => {
  let elsewhere = 0;
  const other = createServer((_req, res) => {
    elsewhere++;
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => other.close(r)));
  let asked = 0;
  const rx = createServer((req, res) => {
    asked++;
    req.resume();
    res.writeHead(307, { location: `http://127.0.0.1:${(other.address() as AddressInfo).port}/steal` }).end();
  });
  await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => rx.close(r)));
  const { engine, notifier } = await notifierOn(t, {
    webhook_url: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook`,
    retries: 3,
  });
  engine.step(1000, fan(true));
  const q = notifier.queues.get('webhook');
  await until(() => (q?.stats.failed ?? 0) === 1, 15_000, 'given up');
  t.match(q?.stats, { sent: 0, failed: 1, retries: 0, lastError: /redirect/ }, 'a wrong URL is not retried');
  t.equal(asked, 1);
  t.equal(elsewhere, 0, 'nothing sent where the redirect pointed');
});

t.test('a 429 whose Retry-After is an HTTP date is honoured', async (t) => {
  const at: number[] = [];
  const rx = createServer((req, res) => {
    at.push(Date.now());
    req.resume();
    if (at.length === 1) res.writeHead(429, { 'retry-after': new Date(Date.now() + 3000).toUTCString() }).end();
    else res.writeHead(204).end();
  });
  await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => rx.close(r)));
  const { engine, notifier } = await notifierOn(t, {
    webhook_url: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook`,
  });
  engine.step(1000, fan(true));
  // the engine's own loop may resolve the alert meanwhile: a second event may follow the first
  await until(() => (notifier.queues.get('webhook')?.stats.sent ?? 0) >= 1, 15_000, 'delivered after the wait');
  // the date has whole seconds: 3 s ahead is at least 2 s; the backoff alone would have retried after 50 ms
  t.ok(at[1] - at[0] >= 1900, `waited ${at[1] - at[0]} ms`);
});

t.test('a slow receiver and a full queue: every event is sent, failed or dropped, once', async (t) => {
  const bodies: string[] = [];
  const rx = createServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => {
      body += b.toString();
    });
    // answers after a while: the queue fills behind the message in flight
    req.on('end', () => setTimeout(() => res.writeHead(204).end(() => bodies.push(body)), 500));
  });
  await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise((r) => {
        rx.closeAllConnections();
        rx.close(r);
      }),
  );
  const { engine, notifier } = await notifierOn(t, {
    webhook_url: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook`,
    queue_max: 1,
  });
  const q = notifier.queues.get('webhook');
  // fire, resolve, fire: three events while the first is still in flight
  for (let i = 0; i < 3; i++) engine.step(1000 + i * 1000, fan(i % 2 === 0));
  await until(() => q?.stats.queued === 0, 15_000, 'queue drained');
  // (the engine's own tick may add a resolve: count the events it made)
  const events = engine.history.recent(100).length;
  const ids = bodies.map((b) => (JSON.parse(b) as { id: number }).id);
  t.equal(ids[0], 1, 'the message in flight was delivered');
  t.equal(q?.stats.sent, bodies.length, 'sent counts what arrived');
  t.equal(
    (q?.stats.sent ?? 0) + (q?.stats.dropped ?? 0) + (q?.stats.failed ?? 0),
    events,
    `each of ${events} events counted once: ${JSON.stringify(q?.stats)}`,
  );
});

t.test('the wall clock jumping decades (NTP on a controller without RTC) does not fire pending alerts', async (t) => {
  const dir = tempDir('asicd-hostile-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = validateConfig({ alerts: { fan_failed: { for_s: 60, cooldown_s: 0 } } }, 'test');
  let reads = 0;
  const engine = new AlertEngine(
    cfg.alerts,
    dir,
    () => {
      reads++;
      return fan(true);
    },
    memoryLogger('debug').log,
  );
  // booted in 1970 for all the clock knows
  const realNow = Date.now;
  const bootWallMs = 86_400_000;
  const offsetMs = bootWallMs - realNow();
  Date.now = () => realNow() + offsetMs;
  t.teardown(() => {
    Date.now = realNow;
  });
  await engine.start();
  t.teardown(() => engine.stop());
  await until(() => reads >= 2, 15_000, 'evaluated in 1970');
  // NTP syncs: the fan has failed for about two seconds, not 56 years
  Date.now = realNow;
  const seen = reads;
  await until(() => reads >= seen + 2, 15_000, 'evaluated after the jump');
  t.same(engine.active(), [], 'a condition held for seconds does not fire on the jump');
  t.same(engine.history.recent(10), []);
});

t.test("a pool's 60 KB error text: alert messages, history and notifications stay small", async (t) => {
  // a pool that subscribes us and then refuses the worker with a whole line of text
  const huge = `denied ${'A'.repeat(60_000)}`;
  const socks = new Set<net.Socket>();
  const pool = net.createServer((s) => {
    socks.add(s);
    s.on('close', () => socks.delete(s));
    s.on('error', () => s.destroy());
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, nl)) as { id: number; method: string };
        buf = buf.slice(nl + 1);
        const result = msg.method === 'mining.subscribe' ? [[], '00000001', 4] : false;
        const error = msg.method === 'mining.authorize' ? [24, huge, null] : null;
        s.write(`${JSON.stringify({ id: msg.id, result, error })}\n`);
      }
    });
  });
  await new Promise<void>((r) => pool.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of socks) s.destroy();
    return new Promise((r) => pool.close(r));
  });
  const hooks: string[] = [];
  const rx = createServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => {
      body += b.toString();
    });
    req.on('end', () => {
      hooks.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => rx.close(r)));
  const d = await startDaemon({
    pools: [{ url: `stratum+tcp://127.0.0.1:${(pool.address() as AddressInfo).port}`, user: 'w', password: 'x' }],
    alerts: { pool_dead: { for_s: 3 } },
    notify: { webhook_url: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook` },
  });
  t.teardown(() => d.stop());
  await until(() => hooks.some((h) => h.includes('"pool_dead"')), 60_000, 'pool_dead notified');
  const r = (await (await fetch(`${d.base}/api/v1/alerts`)).json()) as { history: { message: string }[] };
  const dead = r.history.find((e) => e.message.includes('denied'));
  t.ok(dead, `the alert carries the beginning of the pool text: ${r.history.map((e) => e.message.slice(0, 80))}`);
  t.ok((dead?.message.length ?? 0) < 1000, `message of ${dead?.message.length} characters`);
  for (const h of hooks) t.ok(h.length < 2000, `webhook body of ${h.length} bytes`);
});

t.test('an alert history with events missing fields or naming unknown rules: REST still answers', async (t) => {
  const stateDir = tempDir('asicd-hostile-state-');
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  mkdirSync(stateDir, { recursive: true });
  const good = {
    id: 3,
    atMs: Date.parse('2026-01-02T03:04:05Z'),
    rule: 'fan_failed',
    subject: 'fan 1',
    state: 'resolved',
    severity: 'critical',
    message: 'fan 1 turns again',
    miner: 'm',
  };
  writeFileSync(
    join(stateDir, 'alerts.json'),
    JSON.stringify({
      format: 1,
      events: [
        // a hand edit or an older build: no severity, no miner
        { id: 1, atMs: 1, rule: 'fan_failed', subject: 'fan 1', state: 'firing', message: 'x' },
        // a newer build's rule this one does not know
        { ...good, id: 2, rule: 'psu_on_fire' },
        good,
      ],
    }),
  );
  const d = await startDaemon({ daemon: { state_dir: stateDir } });
  t.teardown(() => d.stop());
  const r = await fetch(`${d.base}/api/v1/alerts`);
  t.equal(r.status, 200, await r.clone().text());
  const body = (await r.json()) as { history: { id: number }[] };
  t.same(
    body.history.map((e) => e.id),
    [3],
    'the whole events are served, the broken ones left out',
  );
  t.ok(
    d.logs().some((l) => /left out/.test(String(l.msg))),
    'and the operator is told',
  );
});

t.test('MQTT: a retained command is never run; a command flood is bounded; an empty pool id is refused', async (t) => {
  const dir = tempDir('asicd-hostile-mqtt-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const broker = await startMosquitto(dir, { miner: 'miner-pw-123', ha: 'ha-pw-456' }, false);
  t.teardown(() => broker.stop());
  const observer = await connectAsync(broker.url, { username: 'ha', password: 'ha-pw-456', reconnectPeriod: 0 });
  t.teardown(() => observer.endAsync(true));
  const results: { command: string; ok: boolean; message: string }[] = [];
  observer.on('message', (topic, payload) => {
    if (topic === 'asicd/h1/cmd/result') results.push(JSON.parse(payload.toString()));
  });
  await observer.subscribeAsync('asicd/h1/cmd/result');
  // junk left retained on the command topic, as a misconfigured dashboard leaves it
  await observer.publishAsync('asicd/h1/cmd/mining', 'OFF', { retain: true, qos: 1 });

  const d = await startDaemon({
    mqtt: {
      enabled: true,
      url: broker.url,
      username: 'miner',
      password: 'miner-pw-123',
      node_id: 'h1',
      interval_s: 5,
      command_role: 'operator',
      discovery: false,
    },
  });
  t.teardown(() => d.stop());
  const miner = d.api.miner;
  await until(() => miner.mqtt?.stats.connected === true, 15_000, 'bridge connected');
  await until(() => miner.chains.every((c) => c.state === 'mining'), 15_000, 'boards mining');

  // commands run in arrival order: by this command's result, the retained one has been seen
  await observer.publishAsync('asicd/h1/cmd/switch_pool', '', { qos: 1 });
  await until(() => results.some((r) => r.command === 'switch_pool'), 15_000, 'switch_pool result');
  t.match(
    results.find((r) => r.command === 'switch_pool'),
    { ok: false, message: /expected a pool id/ },
    'an empty payload is no pool id',
  );
  t.notOk(
    results.some((r) => r.command === 'mining'),
    'the retained command was not run',
  );
  t.notOk(miner.paused, 'not paused');
  t.ok(
    d.sim.oracle().boards.every((b) => b.power),
    'boards still powered (oracle)',
  );

  // a publisher floods the command topic
  const flood = 3000;
  const before = results.length;
  for (let i = 0; i < flood; i++) observer.publish('asicd/h1/cmd/self_destruct', 'now', { qos: 1 });
  await until(
    () => (miner.mqtt?.stats.commands ?? 0) + (miner.mqtt?.stats.commandsDropped ?? 0) >= flood,
    30_000,
    'flood received',
  );
  // the ones taken have answered
  await until(() => results.length - before >= (miner.mqtt?.stats.commands ?? 0) - 1, 30_000, 'results settled');
  const audited = readFileSync(join(d.dir, 'state', 'audit.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('MQTT self_destruct')).length;
  t.ok(audited < flood / 10, `audit lines bounded: ${audited} of ${flood} commands`);
  const logged = d.logs().filter((l) => /MQTT command/.test(String(l.msg))).length;
  t.ok(logged < flood / 10, `log lines bounded: ${logged}`);
  t.ok((miner.mqtt?.stats.commandsDropped ?? 0) > flood / 2, 'the rest dropped and counted');
  const metrics = await (await fetch(`${d.base}/metrics`)).text();
  t.match(metrics, /asicd_mqtt_messages_total\{direction="command_dropped"\} [1-9]/);

  // commands still work after the flood
  await new Promise((r) => setTimeout(r, 1500));
  const n = results.length;
  await observer.publishAsync('asicd/h1/cmd/switch_pool', '{"pool": 0}', { qos: 1 });
  await until(() => results.slice(n).some((r) => r.command === 'switch_pool'), 15_000, 'command after the flood');
  t.match(
    results.slice(n).find((r) => r.command === 'switch_pool'),
    { ok: true },
  );
  await observer.publishAsync('asicd/h1/cmd/mining', '', { retain: true, qos: 1 });
});

t.test('an MQTT URL carrying user:password@ is refused: it would show in GET /api/v1/config', async (t) => {
  let message = '';
  try {
    validateConfig({ mqtt: { enabled: true, url: 'mqtts://miner:s3cret-pw@broker.example:8883' } }, 'asicd.toml');
  } catch (err) {
    message = (err as Error).message;
  }
  t.match(message, /mqtt\.url: .*use username, password/);
  t.notMatch(message, /s3cret-pw/, 'the error does not repeat the password');
  for (const url of ['mqtts://broker.example:8883', 'wss://broker.example/mqtt', 'mqtt://10.0.0.5'])
    t.equal(validateConfig({ mqtt: { url } }, 'asicd.toml').mqtt.url, url, `${url} still accepted`);
});
