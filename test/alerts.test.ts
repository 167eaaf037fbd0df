import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { validateConfig } from '../src/config/load.js';
import { AlertEngine } from '../src/monitor/alerts/engine.js';
import type { AlertInputs } from '../src/monitor/alerts/inputs.js';
import { RULES } from '../src/monitor/alerts/rules.js';
import { startDaemon } from './helpers/daemon.js';
import { memoryLogger } from './helpers/log.js';
import { tempDir } from './helpers/proc.js';
import { until } from './helpers/rig.js';

const base = (): AlertInputs => ({
  boards: [
    {
      board: 0,
      state: 'mining',
      reason: 'all chips up',
      safetyHold: null,
      maxChipC: 70,
      boardC: 50,
      hashrateHs: 100e12,
      idealHashrateHs: 100e12,
    },
  ],
  pools: [
    { pool: 0, url: 'stratum+tcp://pool.example:3333', enabled: true, status: 'alive', current: true, lastError: '' },
  ],
  fans: [{ fan: 1, rpm: 4000, failed: false }],
  tuner: [],
});

function engine(
  t: { teardown: (fn: () => unknown) => void },
  alerts: Record<string, unknown>,
  dir = tempDir('asicd-alerts-'),
) {
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = validateConfig({ alerts }, 'test').alerts;
  const mem = memoryLogger('info');
  let inputs = base();
  const e = new AlertEngine(cfg, dir, () => inputs, mem.log);
  return {
    e,
    dir,
    mem,
    read: () => inputs,
    set: (f: (x: AlertInputs) => void) => f(inputs),
    reset: () => {
      inputs = base();
    },
  };
}

t.test(
  'a rule fires only after its condition held for_s, resolves with its message, and waits out its cooldown',
  async (t) => {
    const { e, set, read } = engine(t, { chip_temp: { above_c: 90, for_s: 30, cooldown_s: 600 } });
    await e.start();
    t.teardown(() => e.stop());
    const at = (s: number) => 1_000_000 + s * 1000;
    t.same(e.step(at(0), read()), [], 'nothing while cool');
    set((x) => {
      x.boards[0].maxChipC = 95.04;
    });
    t.same(e.step(at(1), read()), [], 'hot, not yet for 30 s');
    t.same(e.step(at(30), read()), [], '29 s hot is not enough');
    const fired = e.step(at(31), read());
    t.equal(fired.length, 1);
    t.match(fired[0], {
      rule: 'chip_temp',
      subject: 'board 0',
      state: 'firing',
      severity: 'warning',
      value: 95,
      threshold: 90,
    });
    t.equal(fired[0].message, 'board 0: chip at 95 °C, above 90 °C');
    t.same(e.step(at(40), read()), [], 'fires once while it holds');
    t.equal(e.active().length, 1);
    set((x) => {
      x.boards[0].maxChipC = 80;
    });
    const resolved = e.step(at(50), read());
    t.match(resolved, [{ state: 'resolved', message: 'board 0: chips back below 90 °C (80 °C)' }]);
    t.equal(e.active().length, 0);
    // hot again within the cooldown: held long enough, yet quiet until 600 s after the first firing
    set((x) => {
      x.boards[0].maxChipC = 96;
    });
    t.same(e.step(at(100), read()), []);
    t.same(e.step(at(200), read()), [], 'held 100 s but inside the cooldown');
    t.same(e.step(at(630), read()), [], 'cooldown not over');
    t.match(e.step(at(631), read()), [{ state: 'firing', value: 96 }], 'fires once the cooldown is over');
    t.same(e.totals.get('chip_temp'), { firing: 2, resolved: 1 });
  },
);

t.test('a condition that flaps shorter than for_s never fires', async (t) => {
  const { e, set, read } = engine(t, { pool_dead: { for_s: 10 } });
  await e.start();
  t.teardown(() => e.stop());
  for (let s = 0; s < 60; s += 3) {
    set((x) => {
      x.pools[0].status = s % 6 === 0 ? 'dead' : 'alive';
    });
    t.same(e.step(s * 1000, read()), [], `at ${s} s`);
  }
});

t.test('every rule: its condition fires it, and the built-in defaults make sense', async (t) => {
  // for_s 0 everywhere so one step tells whether the condition is seen
  const zero = Object.fromEntries(RULES.map((r) => [r, { for_s: 0 }]));
  const { e, set, reset, read } = engine(t, zero);
  await e.start();
  t.teardown(() => e.stop());
  t.same(e.step(0, read()), [], 'a healthy miner raises nothing');
  const cases: [string, (x: AlertInputs) => void, RegExp][] = [
    ['chip_temp', (x) => (x.boards[0].maxChipC = 91), /chip at 91 °C, above 90/],
    ['board_temp', (x) => (x.boards[0].boardC = 81), /board at 81 °C, above 80/],
    ['hashrate_low', (x) => (x.boards[0].hashrateHs = 70e12), /hash rate 70 % of ideal, below 80 %/],
    [
      'pool_dead',
      (x) => Object.assign(x.pools[0], { status: 'dead', lastError: 'connection refused' }),
      /pool 0 \(stratum\+tcp:\/\/pool.example:3333\) is dead: connection refused/,
    ],
    ['pool_rejecting', (x) => Object.assign(x.pools[0], { status: 'rejecting' }), /rejects shares/],
    [
      'board_lost',
      (x) => Object.assign(x.boards[0], { state: 'lost', reason: 'chain link lost: EOF' }),
      /board 0 lost: chain link lost: EOF/,
    ],
    [
      'safety_cutoff',
      (x) => Object.assign(x.boards[0], { state: 'cooling', safetyHold: 'chip at 96.0 °C ≥ dangerous 95 °C' }),
      /board 0 powered off: chip at 96.0/,
    ],
    ['fan_failed', (x) => Object.assign(x.fans[0], { failed: true, rpm: 0 }), /fan 1 failed \(0 rpm\)/],
    [
      'tuner_failed',
      (x) => x.tuner.push({ board: 0, failed: true, reason: 'no stable frequency' }),
      /tuning failed: no stable frequency/,
    ],
  ];
  let now = 1000;
  const next = () => {
    now += 1000;
    return now;
  };
  for (const [rule, make, msg] of cases) {
    set(make);
    const got = e.step(next(), read()).filter((x) => x.state === 'firing');
    t.ok(
      got.some((x) => x.rule === rule && msg.test(x.message)),
      `${rule}: ${got.map((x) => x.message).join('; ')}`,
    );
    reset();
    e.step(next(), read());
    t.equal(e.active().length, 0, `${rule} resolved`);
  }
  // a board that is off is not "slow"; a disabled pool is not "dead"
  set((x) => {
    Object.assign(x.boards[0], { state: 'paused', hashrateHs: 0 });
    Object.assign(x.pools[0], { enabled: false, status: 'dead', current: false });
  });
  t.same(
    e.step(next(), read()).map((x) => x.rule),
    [],
    'paused board and disabled pool raise nothing',
  );
  reset();
  set((x) => {
    x.pools[0].current = false;
  });
  t.match(e.step(next(), read()), [
    { rule: 'no_pool', severity: 'critical', message: 'no pool alive: mining stopped' },
  ]);
  reset();
  t.match(e.step(next(), read()), [{ rule: 'no_pool', state: 'resolved', message: 'mining on pool 0 again' }]);
  // defaults: every rule on, hardware rules fire fast and critical, noisy ones wait
  const d = validateConfig({}, 'defaults').alerts;
  t.equal(d.safety_cutoff.for_s, 0);
  t.equal(d.safety_cutoff.severity, 'critical');
  t.ok(d.hashrate_low.for_s >= 300, 'hash rate waits out a warm-up');
  t.ok(d.chip_temp.above_c < validateConfig({}, 'defaults').thermal.dangerous_c, 'warned before the cut-off');
});

t.test('a pool removed while its alert fires resolves it; a rule switched off by reload resolves too', async (t) => {
  const { e, set, read } = engine(t, { pool_dead: { for_s: 0 }, fan_failed: { for_s: 0 } });
  await e.start();
  t.teardown(() => e.stop());
  set((x) => {
    x.pools[0].status = 'dead';
    x.fans[0].failed = true;
  });
  t.equal(e.step(0, read()).length, 2);
  set((x) => {
    x.pools = [];
  });
  t.match(e.step(1000, read()), [{ rule: 'pool_dead', state: 'resolved' }]);
  const next = validateConfig({ alerts: { fan_failed: { enabled: false } } }, 'reload');
  t.same(e.reload(next, ['alerts.fan_failed.enabled']), ['alerts.fan_failed.enabled']);
  t.match(e.step(2000, read()), [{ rule: 'fan_failed', state: 'resolved' }]);
});

t.test('history: bounded, saved atomically, restored (firing alerts stay firing), a bad file set aside', async (t) => {
  const dir = tempDir('asicd-alerts-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const a = engine(t, { history_max: 20, fan_failed: { for_s: 0, cooldown_s: 0 } }, dir);
  await a.e.start();
  const read = a.read;
  for (let i = 0; i < 10; i++) {
    a.set((x) => {
      x.fans[0].failed = i % 2 === 0;
    });
    a.e.step(i * 1000, read());
  }
  a.set((x) => {
    x.fans[0].failed = true;
  });
  a.e.step(10_000, read());
  await a.e.stop();
  const file = join(dir, 'alerts.json');
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { events: { id: number; state: string }[] };
  t.equal(saved.events.length, 11, '11 events');
  t.equal(readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 0, 'no temp file left');

  const b = engine(t, { history_max: 10, fan_failed: { for_s: 0 } }, dir);
  await b.e.start();
  t.equal(b.e.history.recent(100).length, 10, 'history_max bounds what is kept');
  t.match(b.e.active(), [{ rule: 'fan_failed', subject: 'fan 1' }], 'the alert firing at stop is still firing');
  const resolved = b.e.step(20_000, b.read());
  t.match(resolved, [{ rule: 'fan_failed', state: 'resolved', id: 12 }], 'resolves once the fan is fine; ids go on');
  await b.e.stop();

  writeFileSync(file, '{"format": 1, "events": [tru');
  const c = engine(t, {}, dir);
  await c.e.start();
  t.equal(c.e.history.recent(10).length, 0, 'starts empty');
  const aside = readdirSync(dir).filter((f) => f.startsWith('alerts.json.corrupt-'));
  t.equal(aside.length, 1, 'bad file set aside, not lost');
  t.equal(readFileSync(join(dir, aside[0]), 'utf8'), '{"format": 1, "events": [tru');
  t.ok(
    c.mem.lines().some((l) => /set aside/.test(String(l.msg))),
    'logged',
  );
  await c.e.stop();
});

t.test(
  'daemon: a failed fan fires an alert on REST, WebSocket, /metrics and the webhook, and resolves when it turns',
  async (t) => {
    const hooks: { path: string; body: string }[] = [];
    const rx = createServer((req, res) => {
      let body = '';
      req.on('data', (b: Buffer) => {
        body += b.toString();
      });
      req.on('end', () => {
        hooks.push({ path: req.url ?? '', body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise((r) => rx.close(r)));
    const hookUrl = `http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook/s3cr3t-path-token`;
    const d = await startDaemon({
      alerts: { fan_failed: { for_s: 0, cooldown_s: 0 } },
      notify: { webhook_url: hookUrl, webhook_hmac_secret: 'hmac-key-never-shown' },
    });
    t.teardown(() => d.stop());
    const ws = new WebSocket(`${d.base.replace('http', 'ws')}/api/v1/ws`);
    t.teardown(() => ws.close());
    const pushed: { topic?: string; data?: { rule?: string; state?: string } }[] = [];
    ws.on('message', (m) => pushed.push(JSON.parse(String(m))));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ subscribe: ['alerts'] }));
    const miner = d.api.miner;
    await until(() => miner.chains.every((c) => c.state === 'mining'), 15_000, 'boards mining');
    await d.sim.fault({ kind: 'stuck-fan', fan: 1 });
    await until(() => pushed.some((p) => p.topic === 'alerts' && p.data?.state === 'firing'), 30_000, 'alert pushed');
    t.match(pushed.find((p) => p.topic === 'alerts')?.data, {
      rule: 'fan_failed',
      subject: 'fan 1',
      severity: 'critical',
    });
    const r = await fetch(`${d.base}/api/v1/alerts`);
    t.equal(r.status, 200);
    const body = (await r.json()) as { active: { rule: string }[]; history: { rule: string; state: string }[] };
    t.match(body.active, [{ rule: 'fan_failed', subject: 'fan 1' }]);
    t.match(body.history[0], { rule: 'fan_failed', state: 'firing' });
    // polled: a loaded machine may see the fan read as turning for a moment, which resolves and re-fires the alert
    let metrics = '';
    await until(
      () => {
        void fetch(`${d.base}/metrics`)
          .then((r) => r.text())
          .then((x) => {
            metrics = x;
          });
        return /asicd_alerts_firing\{rule="fan_failed",severity="critical"\} 1/.test(metrics);
      },
      10_000,
      'firing alert in /metrics',
    );
    t.match(metrics, /asicd_alert_events_total\{rule="fan_failed",state="firing"\} [1-9]/);
    await d.sim.fault({ kind: 'stuck-fan', fan: 1, on: false });
    await until(
      () => pushed.some((p) => p.topic === 'alerts' && p.data?.state === 'resolved'),
      30_000,
      'resolve pushed',
    );
    const after = (await (await fetch(`${d.base}/api/v1/alerts?limit=1`)).json()) as typeof body;
    t.same(after.active, []);
    t.match(after.history, [{ rule: 'fan_failed', state: 'resolved' }]);
    await until(() => hooks.length >= 2, 10_000, 'webhook deliveries');
    t.match(JSON.parse(hooks[0].body), { rule: 'fan_failed', state: 'firing' });
    t.equal(hooks[0].path, '/hook/s3cr3t-path-token');
    const admin = readFileSync(join(d.dir, 'state', 'admin.token'), 'utf8').trim();
    const cfg = await (
      await fetch(`${d.base}/api/v1/config`, { headers: { authorization: `Bearer ${admin}` } })
    ).json();
    t.match(
      cfg,
      { notify: { webhook_url: '[REDACTED]', webhook_hmac_secret: '[REDACTED]' } },
      'secrets redacted in replies',
    );
    const logs = JSON.stringify(d.logs());
    t.notOk(/s3cr3t-path-token|hmac-key-never-shown/.test(logs), 'and never logged');
    const bad = await fetch(`${d.base}/api/v1/alerts?limit=0`);
    t.equal(bad.status, 400, 'limit checked');
    const test = await fetch(`${d.base}/api/v1/alerts/test`, { method: 'POST' });
    t.equal(test.status, 401, 'a test notification needs a token');
    await d.daemon.stop('test done');
    const file = JSON.parse(readFileSync(join(d.dir, 'state', 'alerts.json'), 'utf8')) as {
      events: { rule: string; state: string }[];
    };
    const states = file.events.filter((e) => e.rule === 'fan_failed').map((e) => e.state);
    t.ok(states.includes('firing') && states.at(-1) === 'resolved', `events saved in state_dir: ${states.join(', ')}`);
  },
);
