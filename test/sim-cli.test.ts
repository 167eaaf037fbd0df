// `asicd sim` as an operator runs it: what it creates (a temp folder, socat children) is gone after it exits, and a
// missing socat is named with the package that provides it.
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { freePort } from './helpers/daemon.js';
import { spawnTs, tempDir } from './helpers/proc.js';
import { until } from './helpers/rig.js';

/** Live processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) pids.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** What asicd made in a temp dir (tsx keeps its own cache there too). */
const ours = (tmp: string) => readdirSync(tmp).filter((f) => f.startsWith('asicd-'));

t.test('asicd sim removes its own temp folder and its socat children on SIGTERM', async (t) => {
  const tmp = tempDir('asicd-simtmp-');
  const p = spawnTs('src/cli.ts', ['sim', '--boards', '1', '--chips', '4', '--fans', '1'], { TMPDIR: tmp });
  await p.waitFor('simulator ready', 60_000);
  const ready = JSON.parse(
    p
      .stdout()
      .split('\n')
      .find((l) => l.includes('simulator ready')) ?? '{}',
  ) as {
    boards: { uart: string }[];
  };
  const made = ours(tmp);
  t.equal(made.length, 1, 'one folder made in the temp dir');
  t.ok(ready.boards[0].uart.startsWith(tmp), 'the pty lives in it');
  t.ok(processesMentioning(tmp).length > 0, 'socat runs for the pty pair');
  p.child.kill('SIGTERM');
  const { code } = await p.exit;
  t.equal(code, 0);
  t.same(ours(tmp), [], 'the temp folder is gone');
  await until(() => processesMentioning(tmp).length === 0, 10_000, 'socat children to end');
  t.pass('no socat left');
});

t.test('a SIGKILLed asicd sim leaves no socat behind: the pty pairs end with it', async (t) => {
  const tmp = tempDir('asicd-simtmp-');
  const p = spawnTs('src/cli.ts', ['sim', '--boards', '2', '--chips', '4', '--fans', '1'], { TMPDIR: tmp });
  await p.waitFor('simulator ready', 60_000);
  t.ok(processesMentioning(tmp).length >= 2, 'socat runs for each pty pair');
  p.child.kill('SIGKILL');
  await p.exit;
  await until(() => processesMentioning(tmp).length === 0, 10_000, 'socat children to end after the SIGKILL');
  t.pass('no socat left');
});

t.test('asicd sim --dir keeps the folder it was given', async (t) => {
  const dir = tempDir('asicd-simdir-');
  const p = spawnTs('src/cli.ts', ['sim', '--boards', '1', '--chips', '4', '--fans', '1', '--dir', dir]);
  await p.waitFor('simulator ready', 60_000);
  p.child.kill('SIGTERM');
  t.equal((await p.exit).code, 0);
  t.ok(readdirSync(dir).length > 0, 'the hwmon folder the user asked for is still there');
});

t.test('without socat, asicd sim says what is missing and how to install it, and leaves nothing', async (t) => {
  const tmp = tempDir('asicd-simtmp-');
  const emptyPath = tempDir('asicd-nopath-');
  const p = spawnTs('src/cli.ts', ['sim', '--boards', '1', '--chips', '4'], { TMPDIR: tmp, PATH: emptyPath });
  const { code } = await p.exit;
  t.not(code, 0);
  t.match(p.stderr(), /socat.*apt-get install socat/s);
  t.same(ours(tmp), [], 'no temp folder left');
});

t.test('--base-port gives the same ports on every start, so a hand-written config stays valid', async (t) => {
  const base = await freePort();
  for (let run = 0; run < 2; run++) {
    const p = spawnTs('src/cli.ts', [
      'sim',
      '--boards',
      '1',
      '--chips',
      '4',
      '--link',
      'tcp',
      '--base-port',
      String(base),
    ]);
    await p.waitFor('simulator ready', 60_000);
    const line =
      p
        .stdout()
        .split('\n')
        .find((l) => l.includes('simulator ready')) ?? '{}';
    t.same(JSON.parse(line).boards, [
      { index: 0, uart: `tcp://127.0.0.1:${base + 1}`, spi: `tcp://127.0.0.1:${base}` },
    ]);
    p.child.kill('SIGTERM');
    t.equal((await p.exit).code, 0);
  }
});
