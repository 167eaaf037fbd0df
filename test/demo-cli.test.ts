// The first commands a new user types: help for demo and run, and a demo whose daemon cannot start (its port is
// taken) ends by itself, says what to do, and leaves no temp folder (it holds the admin token).
import { readdirSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import { freePort } from './helpers/daemon.js';
import { runCli, spawnTs, tempDir } from './helpers/proc.js';

t.test('demo --help and run --help answer with their options', async (t) => {
  const demo = await runCli(['demo', '--help']);
  t.equal(demo.code, 0, demo.stderr);
  t.match(demo.stdout, /--api-port P/);
  t.match(demo.stdout, /--cgminer-port P/);
  const run = await runCli(['run', '--help']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /--config FILE/);
  t.match(run.stdout, /Exit codes/);
});

t.test('a demo whose API port is taken exits, names the options, and removes its temp folder', async (t) => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  t.teardown(() => taken.close());
  const port = (taken.address() as net.AddressInfo).port;
  const tmp = tempDir('asicd-demotmp-');
  const p = spawnTs(
    'src/cli.ts',
    [
      'demo',
      '--json',
      '--boards',
      '1',
      '--chips',
      '4',
      '--api-port',
      String(port),
      '--cgminer-port',
      String(await freePort()),
    ],
    { TMPDIR: tmp },
  );
  // generous: on a loaded machine start-up alone takes seconds; the old demo never exited at all
  const deadline = setTimeout(() => p.child.kill('SIGKILL'), 90_000);
  const { code, signal } = await p.exit;
  clearTimeout(deadline);
  t.equal(signal, null, 'ended by itself, not killed');
  t.equal(code, 1);
  t.match(p.stderr(), /--api-port and --cgminer-port/);
  t.same(
    readdirSync(tmp).filter((f) => f.startsWith('asicd-')),
    [],
    'no demo folder (config, admin token) left behind',
  );
});
