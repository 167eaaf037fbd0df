import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, spawnProcess, tempDir } from './helpers/proc.js';
import { until } from './helpers/rig.js';
import { simFiles } from './helpers/sim-files.js';

// What bin/asicd.js runs is the daemon's bundle (scripts/bundle.mjs, the build's last step), not the module tree the
// other tests import from src/. Built apart here as `npm run build` builds it, it must mine and serve everything that
// finds files beside its code: the version (package.json), the cgminer API's worker thread, the dashboard's assets.

t.test('the bundle bin/asicd.js runs: mines, answers cgminer from its worker, serves the dashboard', async (t) => {
  const root = tempDir('asicd-bundle-');
  mkdirSync(join(root, 'bin'));
  copyFileSync(join(ROOT, 'bin/asicd.js'), join(root, 'bin/asicd.js'));
  copyFileSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  const tsc = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      join(root, 'dist'),
    ],
    { encoding: 'utf8' },
  );
  t.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);
  cpSync(join(ROOT, 'src/api/dashboard/public'), join(root, 'dist/api/dashboard/public'), { recursive: true });
  const bundle = spawnSync(process.execPath, [join(ROOT, 'scripts/bundle.mjs'), root], { encoding: 'utf8' });
  t.equal(bundle.status, 0, `bundle: ${bundle.stderr}`);

  const version = spawnSync(process.execPath, [join(root, 'bin/asicd.js'), '--version'], { encoding: 'utf8' });
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  t.equal(version.stdout.trim(), pkg.version, 'the version, from package.json two folders up');

  const { sim, pool, file, apiPort, cgPort, stop } = await simFiles({
    prefix: 'asicd-bundle-run-',
    user: 'bundle.worker',
    boards: 1,
    seed: 3,
    extra: { log: { level: 'info', stats_interval_s: 0 } },
  });
  t.teardown(stop);
  const d = spawnProcess(process.execPath, [join(root, 'bin/asicd.js'), 'run', '--config', file]);
  t.teardown(() => {
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
  });
  await d.waitFor('API listening', 60_000);
  await until(() => pool.workerStats('bundle.worker').accepted > 0, 60_000, 'a share from the bundle');
  const reply = await new Promise<string>((resolve, reject) => {
    const c = net.connect(cgPort, '127.0.0.1', () => c.end('{"command":"summary"}'));
    let b = '';
    c.on('data', (x) => {
      b += x;
    });
    c.on('close', () => resolve(b));
    c.on('error', reject);
  });
  t.match(reply, /"STATUS":"S".*"SUMMARY"/, 'the cgminer API answers from the worker the bundle started');
  const page = await fetch(`http://127.0.0.1:${apiPort}/`);
  t.equal(page.status, 200, 'the dashboard page');
  t.match(await page.text(), /<html/i);
  const uplot = await fetch(`http://127.0.0.1:${apiPort}/ui/uPlot.min.js`);
  t.equal(uplot.status, 200, "and uPlot, from its package beside the bundle's node_modules");
  d.child.kill('SIGTERM');
  const { code } = await d.exit;
  t.equal(code, 0, d.stderr());
  t.ok(
    sim.oracle().boards.every((b) => !b.power),
    'boards powered off on SIGTERM (oracle)',
  );
});
