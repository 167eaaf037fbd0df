import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { spawnTs } from './helpers/proc.js';
import { until } from './helpers/rig.js';
import { simFiles } from './helpers/sim-files.js';

// After SIGTERM the process ends as soon as the boards are off and "asicd stopped" is logged, whatever API clients
// were still connected (WebSocket, HTTP keep-alive, idle cgminer connections).

t.test('SIGTERM after a long API session: the process exits right after "asicd stopped"', async (t) => {
  const {
    dir,
    sim,
    pool,
    file,
    apiPort: port,
    cgPort,
    stop,
  } = await simFiles({
    prefix: 'asicd-term-',
    user: 'term.worker',
    boards: 1,
    seed: 2,
    extra: { log: { level: 'info', stats_interval_s: 0 } },
  });
  t.teardown(stop);
  const d = spawnTs('src/cli.ts', ['run', '--config', file]);
  t.teardown(() => {
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
  });
  await d.waitFor('API listening', 30_000);
  await until(() => pool.workerStats('term.worker').accepted > 0, 30_000, 'mining');
  const token = readFileSync(join(dir, 'state', 'admin.token'), 'utf8').trim();
  // the session: a subscribed WebSocket, keep-alive HTTP requests, a ws client that never answers a close,
  // cgminer connections left open without a request
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws`, ['asicd', `asicd.bearer.${token}`]);
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ subscribe: ['summary', 'logs', 'shares'] }));
  const agent = new (await import('node:http')).Agent({ keepAlive: true });
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve) => {
      (async () => {
        const http = await import('node:http');
        http
          .get({ host: '127.0.0.1', port, path: '/api/v1/summary', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          })
          .on('error', () => resolve());
      })();
    });
  }
  const idle = Array.from({ length: 3 }, () => net.connect(cgPort, '127.0.0.1').on('error', () => {}));
  t.teardown(() => {
    for (const s of idle) s.destroy();
    agent.destroy();
  });
  // this WebSocket client stops reading: a close handshake with it never completes
  const mute = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws`, ['asicd', `asicd.bearer.${token}`]);
  await new Promise((r) => mute.once('open', r));
  (mute as unknown as { _socket: { pause: () => void } })._socket.pause();
  t.teardown(() => mute.terminate());

  d.child.kill('SIGTERM');
  await d.waitFor('asicd stopped', 20_000);
  const stoppedAt = Date.now();
  const { code } = await d.exit;
  const lingerMs = Date.now() - stoppedAt;
  t.equal(code, 0);
  t.ok(lingerMs < 5000, `exited ${lingerMs} ms after "asicd stopped"`);
  t.notOk(
    sim.oracle().boards.some((b) => b.power),
    'boards off',
  );
  ws.terminate();
});
