// install.sh lays a release out as a controller needs it (here under --root, so nothing on this machine changes):
// code in /opt/asicd-VERSION behind /opt/asicd, unit and udev rules, the service enabled, a config that an upgrade
// never overwrites.
import { spawnSync } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, tempDir } from './helpers/proc.js';

/** A release tarball as make dist lays it out, without node_modules (install.sh does not look inside them). */
function tarball(version: string): string {
  const dir = tempDir('asicd-rel-');
  const rel = join(dir, 'asicd');
  mkdirSync(rel);
  for (const f of ['bin', 'config', 'systemd', 'install.sh', 'README.md'])
    cpSync(join(ROOT, f), join(rel, f), { recursive: true });
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(rel, 'package.json'), JSON.stringify({ ...pkg, version }, null, 2));
  writeFileSync(join(rel, 'TARGET'), 'linux-arm64\n');
  const file = join(dir, `asicd-${version}-linux-arm64.tar.gz`);
  const r = spawnSync('tar', ['-C', dir, '-czf', file, 'asicd']);
  if (r.status !== 0) throw new Error('tar failed');
  return file;
}

const install = (root: string, file: string) =>
  spawnSync('sh', [join(ROOT, 'install.sh'), '--root', root, file], { encoding: 'utf8' });

t.test('one command lays out code, config, unit and udev rules, and enables the service', async (t) => {
  const root = tempDir('asicd-root-');
  const r = install(root, tarball('1.2.3'));
  t.equal(r.status, 0, r.stderr);
  t.equal(readlinkSync(join(root, 'opt/asicd')), 'asicd-1.2.3');
  t.ok(statSync(join(root, 'opt/asicd/bin/asicd.js')).isFile());
  t.equal(statSync(join(root, 'etc/asicd/asicd.toml')).mode & 0o777, 0o600, 'config readable by its owner only');
  t.equal(statSync(join(root, 'var/lib/asicd')).mode & 0o777, 0o700);
  t.equal(
    readFileSync(join(root, 'etc/systemd/system/asicd.service'), 'utf8'),
    readFileSync(join(ROOT, 'systemd/asicd.service'), 'utf8'),
  );
  t.ok(statSync(join(root, 'etc/udev/rules.d/90-asicd.rules')).isFile());
  t.ok(lstatSync(join(root, 'etc/systemd/system/multi-user.target.wants/asicd.service')).isSymbolicLink(), 'enabled');
});

t.test('an upgrade switches /opt/asicd and keeps the operator’s config', async (t) => {
  const root = tempDir('asicd-root-');
  t.equal(install(root, tarball('1.0.0')).status, 0);
  const cfg = join(root, 'etc/asicd/asicd.toml');
  writeFileSync(cfg, '# mine\n');
  const r = install(root, tarball('1.1.0'));
  t.equal(r.status, 0, r.stderr);
  t.equal(readlinkSync(join(root, 'opt/asicd')), 'asicd-1.1.0');
  t.ok(statSync(join(root, 'opt/asicd-1.0.0')).isDirectory(), 'the previous version stays for a roll-back');
  t.equal(readFileSync(cfg, 'utf8'), '# mine\n');
});

t.test('bad input: a file that is no release, an unknown option', async (t) => {
  const root = tempDir('asicd-root-');
  const junk = join(root, 'junk.tar.gz');
  writeFileSync(junk, 'not a tarball');
  const r = install(root, junk);
  t.not(r.status, 0);
  t.match(r.stderr, /install\.sh: .*junk\.tar\.gz is not a release tarball/);
  const o = spawnSync('sh', [join(ROOT, 'install.sh'), '--frobnicate'], { encoding: 'utf8' });
  t.not(o.status, 0);
  t.match(o.stderr, /unknown option --frobnicate/);
});
