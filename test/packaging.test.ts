// What ships to a controller besides the code: the systemd unit verifies and stays hardened, the Dockerfile lints
// and runs as its own user with production dependencies only.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, requireTool, tempDir } from './helpers/proc.js';

const UNIT = join(ROOT, 'systemd/asicd.service');

/** The unit with ExecStart's node replaced by this machine's, since verify checks that the binary exists. */
function unitHere(): string {
  const dir = tempDir('asicd-unit-');
  const file = join(dir, 'asicd.service');
  writeFileSync(file, readFileSync(UNIT, 'utf8').replaceAll('/usr/bin/node ', `${process.execPath} `));
  copyFileSync(join(ROOT, 'systemd/90-asicd.rules'), join(dir, '90-asicd.rules'));
  return file;
}

t.test('systemd-analyze verify passes; security exposure stays at most 2.0', async (t) => {
  requireTool('systemd-analyze', 'systemd');
  const file = unitHere();
  const verify = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  t.equal(verify.status, 0, `verify: ${verify.stdout}${verify.stderr}`);
  const sec = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', file], { encoding: 'utf8' });
  const exposure = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(sec.stdout)?.[1]);
  t.ok(exposure <= 2.0, `exposure ${exposure} (docs/deployment.md states it)`);
  const doc = readFileSync(join(ROOT, 'docs/deployment.md'), 'utf8');
  t.ok(doc.includes(`exposure level ${exposure.toFixed(1)}`), 'the documented score is the current one');
});

t.test('the unit: notify with watchdog, own user, no retry of a bad config', async (t) => {
  const unit = readFileSync(UNIT, 'utf8');
  for (const line of [
    'Type=notify',
    'User=asicd',
    'SupplementaryGroups=dialout',
    'RestartPreventExitStatus=2',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'DevicePolicy=closed',
  ])
    t.match(unit, new RegExp(`^${line}$`, 'm'), line);
  t.match(unit, /^WatchdogSec=\d+$/m);
  t.match(unit, /^MemoryMax=\d+M$/m);
  t.match(unit, /^ExecStartPre=.* config check /m);
  t.match(unit, /^ExecStart=.*--max-old-space-size=\d+/m);
});

t.test('the Dockerfile lints clean, runs as its own user, ships production dependencies only', async (t) => {
  const lint = spawnSync(join(ROOT, 'node_modules/.bin/dockerfile-utils'), ['lint', join(ROOT, 'Dockerfile')], {
    encoding: 'utf8',
  });
  t.equal(lint.status, 0, `dockerfile-utils: ${lint.stdout}${lint.stderr}`);
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m);
  const last = stages[stages.length - 1];
  t.ok(stages.length >= 3, 'multi-stage');
  t.match(last, /^USER asicd$/m, 'the image runs as asicd');
  t.notMatch(last, /npm (ci|install)/, 'nothing installed in the image itself');
  t.match(text, /npm prune --omit=dev/, 'dev dependencies pruned before the copy');
  t.notMatch(last, /COPY (\.|src|test|bench) /, 'no sources or tests in the image');
});

t.test('the launcher, the unit and the image size the V8 heap alike', async (t) => {
  // the node options before the script: heap sizes and switches such as --optimize-for-size
  const flags = (text: string) =>
    [...(text.split(/\S*asicd\.js/)[0] ?? '').matchAll(/--[a-z][a-z-]*(?:=\d+)?/g)].map((m) => m[0]).sort();
  const unit = flags(/^ExecStart=.*$/m.exec(readFileSync(UNIT, 'utf8'))?.[0] ?? '');
  t.ok(
    unit.some((f) => f.startsWith('--max-old-space-size=')),
    unit.join(' '),
  );
  const shebang = readFileSync(join(ROOT, 'bin/asicd.js'), 'utf8').split('\n')[0];
  t.same(flags(`${shebang} asicd.js`), unit, 'bin/asicd.js shebang');
  t.same(flags(/^ENTRYPOINT.*$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[0] ?? ''), unit, 'Dockerfile');
  // kernels before 5.1 read only the first 127 bytes of a #! line: a longer one loses its last options
  t.ok(Buffer.byteLength(shebang) <= 127, `shebang ${Buffer.byteLength(shebang)} bytes`);
  // the allocator settings are the unit's in the launcher and the image
  const unitEnv = [...readFileSync(UNIT, 'utf8').matchAll(/^Environment=(\S+)$/gm)].map((m) => m[1]);
  const imageEnv = [...readFileSync(join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^ENV (.*)$/gm)].flatMap((m) =>
    m[1].split(/\s+/),
  );
  const malloc = unitEnv.filter((v) => v.startsWith('MALLOC_'));
  t.ok(malloc.length >= 1, malloc.join(' '));
  t.same((shebang.match(/\bMALLOC_\w+=\S+/g) ?? []).sort(), [...malloc].sort(), 'bin/asicd.js shebang');
  t.same(imageEnv.filter((v) => v.startsWith('MALLOC_')).sort(), [...malloc].sort(), 'Dockerfile');
});
