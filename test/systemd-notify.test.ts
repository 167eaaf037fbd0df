// The systemd notification protocol, received the way systemd receives it: a unix datagram socket (socat listens
// on it here, since no systemd manages this process). The daemon says READY after bring-up, pings the watchdog only
// while the boards' safety monitors make progress, and says STOPPING on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { SystemdNotifier } from '../src/util/sd-notify.js';
import { boardMonitorsFresh, ServiceWatchdog } from '../src/util/service-watchdog.js';
import { memoryLogger } from './helpers/log.js';
import { requireTool, spawnTs, tempDir } from './helpers/proc.js';
import { sleep, until } from './helpers/rig.js';
import { simFiles } from './helpers/sim-files.js';

requireTool('socat', 'socat', ['-V']);
requireTool('systemd-notify', 'systemd', ['--version']);

/** A notify socket: every datagram that arrives, in order. */
async function notifySocket(t: Test): Promise<{ path: string; messages: () => string }> {
  const path = join(tempDir('asicd-notify-'), 'notify.sock');
  const rx: ChildProcess = spawn('socat', ['-u', `UNIX-RECV:${path}`, 'STDOUT'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.teardown(() => {
    rx.kill();
  });
  let out = '';
  rx.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await until(() => existsSync(path), 10_000, 'socat to bind the notify socket');
  return { path, messages: () => out };
}

const count = (text: string, what: string) => text.split(what).length - 1;

t.test('which boards the interim watchdog driver waits for', async (t) => {
  const now = 100_000;
  const board = (state: string, atMs: number) => ({ state, readings: { atMs } });
  t.ok(boardMonitorsFresh([board('mining', now - 1000), board('cooling', now - 2000)], now));
  t.notOk(boardMonitorsFresh([board('mining', now - 1000), board('mining', now - 20_000)], now), 'one stale board');
  t.ok(boardMonitorsFresh([board('lost', 0), board('bringup', 0), { name: 'api' }], now), 'unmonitored states');
});

t.test('without NOTIFY_SOCKET nothing is sent and no watchdog is assumed', async (t) => {
  const n = new SystemdNotifier(memoryLogger().log, {});
  t.equal(n.enabled, false);
  t.equal(n.pingIntervalMs, undefined);
  t.equal(await n.ready(), false);
  const inherited = new SystemdNotifier(memoryLogger().log, {
    NOTIFY_SOCKET: '/nonexistent',
    WATCHDOG_USEC: '1000000',
    WATCHDOG_PID: String(process.pid + 1),
  });
  t.equal(inherited.pingIntervalMs, undefined, 'a watchdog meant for another process is not ours');
});

t.test('watchdog pings go out only while healthy ticks come', async (t) => {
  const sock = await notifySocket(t);
  const { log } = memoryLogger();
  const n = new SystemdNotifier(log, { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '400000' });
  t.equal(n.pingIntervalMs, 100, 'a quarter of WatchdogSec');
  const w = new ServiceWatchdog(n);
  w.start();
  t.teardown(() => w.stop());
  await sleep(800);
  t.equal(count(sock.messages(), 'WATCHDOG=1'), 0, 'no ticks: no pings');
  const ticker = setInterval(() => w.healthyTick(), 50);
  t.teardown(() => clearInterval(ticker));
  await until(() => count(sock.messages(), 'WATCHDOG=1') >= 3, 10_000, 'pings while ticks come');
  clearInterval(ticker);
  await sleep(300);
  const after = count(sock.messages(), 'WATCHDOG=1');
  await sleep(800);
  t.equal(count(sock.messages(), 'WATCHDOG=1'), after, 'ticks stopped: pings stopped');
});

t.test('asicd run: READY after bring-up, pings while the boards are watched, STOPPING on SIGTERM', async (t) => {
  const sock = await notifySocket(t);
  const { pool, file, stop } = await simFiles({ prefix: 'asicd-sd-', user: 'sd.worker' });
  t.teardown(stop);
  const d = spawnTs('src/cli.ts', ['run', '--config', file], { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '2000000' });
  await until(() => sock.messages().includes('READY=1'), 60_000, 'READY=1');
  t.ok(d.stdout().includes('asicd starting'), 'READY came after start-up');
  await d.waitFor('systemd notified: ready', 10_000);
  t.match(d.stdout(), /"driver":"safety supervisor"/, 'pings hang off the safety supervisor’s healthy loops');
  t.match(sock.messages(), new RegExp(`MAINPID=${d.child.pid}`), 'names the daemon as the main process');
  await until(() => pool.workerStats('sd.worker').accepted > 0, 60_000, 'mining');
  const before = count(sock.messages(), 'WATCHDOG=1');
  await until(() => count(sock.messages(), 'WATCHDOG=1') >= before + 3, 30_000, 'watchdog pings');
  d.child.kill('SIGTERM');
  const { code } = await d.exit;
  t.equal(code, 0);
  await until(() => sock.messages().includes('STOPPING=1'), 10_000, 'STOPPING=1');
  t.notMatch(d.stdout(), /systemd notification failed: .*(could not run|WATCHDOG)/, 'pings were sent without error');
});
