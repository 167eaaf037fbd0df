import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startDaemon } from './helpers/daemon.js';
import { ROOT, requireTool } from './helpers/proc.js';
import { until } from './helpers/rig.js';

requireTool('promtool', 'prometheus');
const d = await startDaemon();
t.teardown(() => d.stop());
await until(
  () => d.pool.workerStats('api.worker').accepted > 0 && d.api.miner.chains.every((c) => c.readings.atMs > 0),
  20_000,
  'mining',
);

t.test('a live scrape passes promtool check metrics and carries the documented series', async (t) => {
  const res = await fetch(`${d.base}/metrics`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const text = await res.text();
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
  for (const name of [
    'asicd_hashrate_hashes_per_second{window="5s"}',
    'asicd_board_temperature_celsius{board="0",sensor="inlet"}',
    'asicd_board_power_watts{board="1"}',
    'asicd_chip_nonces_total{board="0",chip="7"}',
    'asicd_pool_shares_total{pool="0",result="accepted"}',
    'asicd_fan_speed_rpm{fan="1"}',
  ]) {
    t.ok(text.includes(name), name);
  }
  const hr = Number(/asicd_hashrate_hashes_per_second\{window="1m"\} (\S+)/.exec(text)?.[1]);
  t.ok(hr > 0, `hash rate ${hr} fed by real nonces`);
  // the pool counts a share when it accepts it, the daemon when the answer arrives: a scrape between the two reads
  // one short, so both are read again until they agree (a loaded machine widens that gap)
  const accepted = (x: string) => Number(/asicd_pool_shares_total\{pool="0",result="accepted"\} (\S+)/.exec(x)?.[1]);
  let acc = accepted(text);
  let pool = d.pool.workerStats('api.worker').accepted;
  for (let i = 0; i < 50 && acc !== pool; i++) {
    await new Promise((r) => setTimeout(r, 100));
    acc = accepted(await (await fetch(`${d.base}/metrics`)).text());
    pool = d.pool.workerStats('api.worker').accepted;
  }
  t.equal(acc, pool, 'accepted shares agree with the pool');
  t.notOk(text.includes('pool-secret-pw'));
});

t.test(
  'the shipped Prometheus config and alert rules pass promtool; the Grafana dashboard uses real series',
  async (t) => {
    const dir = join(ROOT, 'docs/prometheus');
    t.match(
      execFileSync('promtool', ['check', 'rules', join(dir, 'asicd-alerts.yml')], { encoding: 'utf8' }),
      /SUCCESS/,
    );
    t.match(
      execFileSync('promtool', ['check', 'config', '--syntax-only', join(dir, 'prometheus.yml')], { encoding: 'utf8' }),
      /SUCCESS/,
    );
    const scrape = await (await fetch(`${d.base}/metrics`)).text();
    const exported = new Set([...scrape.matchAll(/^(asicd_\w+?)(?:\{| )/gm)].map((m) => m[1]));
    const dash = readFileSync(join(ROOT, 'docs/grafana/asicd.json'), 'utf8');
    const rules = readFileSync(join(dir, 'asicd-alerts.yml'), 'utf8');
    for (const [what, text] of [
      ['dashboard', dash],
      ['alert rules', rules],
    ]) {
      const used = new Set([...text.matchAll(/\b(asicd_[a-z_]+)/g)].map((m) => m[1]));
      for (const name of used) t.ok(exported.has(name), `${what} uses ${name}, which /metrics exports`);
    }
    JSON.parse(dash);
  },
);
