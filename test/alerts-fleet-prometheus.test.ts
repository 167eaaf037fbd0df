import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { freePort } from './helpers/daemon.js';
import { ROOT, tempDir } from './helpers/proc.js';
import { until } from './helpers/rig.js';

const DOCS = join(ROOT, 'docs/prometheus');

t.test('fleet docs: the discovery, federation and recording-rule files pass promtool', async (t) => {
  for (const f of ['fleet.yml', 'federation.yml'])
    t.match(
      execFileSync('promtool', ['check', 'config', '--syntax-only', join(DOCS, f)], { encoding: 'utf8' }),
      /SUCCESS/,
      f,
    );
  t.match(
    execFileSync('promtool', ['check', 'rules', join(DOCS, 'asicd-fleet-rules.yml')], { encoding: 'utf8' }),
    /SUCCESS/,
  );
});

t.test(
  'fleet.yml relabelling, run by a real Prometheus on the example targets: site, rack and miner labels',
  async (t) => {
    const dir = tempDir('asicd-prom-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'asicd'));
    copyFileSync(join(DOCS, 'targets/site-a.json'), join(dir, 'asicd/site-a.json'));
    writeFileSync(join(dir, 'asicd.token'), 'token\n');
    const config = readFileSync(join(DOCS, 'fleet.yml'), 'utf8')
      .replaceAll('/etc/prometheus/', `${dir}/`)
      .replace(/rule_files:\n(\s+- .*\n)+/, '');
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const port = await freePort();
    const prom: ChildProcess = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise((r) => prom.once('exit', r));
    t.teardown(async () => {
      prom.kill('SIGTERM');
      await exited;
    });
    type Target = { labels: Record<string, string> };
    let targets: Target[] = [];
    await until(
      () => {
        fetch(`http://127.0.0.1:${port}/api/v1/targets`)
          .then((r) => r.json() as Promise<{ data: { activeTargets: Target[] } }>)
          .then((b) => {
            targets = b.data.activeTargets;
          })
          .catch(() => {});
        return targets.length === 5;
      },
      30_000,
      'five targets discovered',
    );
    const by = (miner: string) => targets.find((x) => x.labels.miner === miner)?.labels;
    t.match(by('10.1.12.7'), { site: 'a', rack: 'r12', instance: '10.1.12.7' }, 'an address names the miner');
    t.match(by('m-0421'), { site: 'a', rack: 'r13', instance: 'm-0421' }, 'a miner label from the file wins');
    t.match(by('a-r14-m01'), { site: 'a', rack: 'r14', instance: 'a-r14-m01' }, 'host names give site and rack');
  },
);

t.test('the Grafana dashboard filters every query by site, rack and miner', async (t) => {
  const dash = JSON.parse(readFileSync(join(ROOT, 'docs/grafana/asicd.json'), 'utf8')) as {
    templating: { list: { name: string; query?: string }[] };
    panels: { title: string; targets?: { expr: string }[] }[];
  };
  t.same(
    dash.templating.list.map((v) => v.name),
    ['datasource', 'site', 'rack', 'miner'],
  );
  for (const p of dash.panels)
    for (const q of p.targets ?? []) t.match(q.expr, /miner=~"\$miner"/, `${p.title} follows the miner variable`);
});
