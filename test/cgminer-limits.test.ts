import net from 'node:net';
import t from 'tap';
import {
  CgminerApi,
  CONNECTION_LIFETIME_MS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_JOINED,
} from '../src/api/cgminer.js';
import { cgminerAsk } from './helpers/cgminer.js';
import { startDaemon } from './helpers/daemon.js';
import { memoryLogger } from './helpers/log.js';
import { sleep, until } from './helpers/rig.js';

// What one cgminer API client (or many) may cost: joined commands, slow senders, connection counts.

const d = await startDaemon();
t.teardown(() => d.stop());
await until(() => d.pool.workerStats('api.worker').accepted > 0, 20_000, 'mining');

/** Opens a connection and resolves once it is established (or refused: then `closed` is already true). */
function hold(port: number, localAddress: string): Promise<{ sock: net.Socket; closed: () => boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress });
    let closed = false;
    sock.on('close', () => {
      closed = true;
    });
    sock.on('error', () => {});
    sock.on('connect', () => setTimeout(() => resolve({ sock, closed: () => closed }), 100));
  });
}

t.test('a request joining more than the limit is refused with a short error, not a 2 MB reply', async (t) => {
  const many = Array.from({ length: 1300 }, () => 'stats').join('+');
  t.ok(many.length < 8192, 'the request itself fits the request limit');
  const reply = await cgminerAsk(d.cgPort, JSON.stringify({ command: many }));
  t.ok(reply.length < 1000, `short reply (${reply.length} bytes)`);
  const r = JSON.parse(reply) as { STATUS: { STATUS: string; Msg: string }[] };
  t.equal(r.STATUS[0].STATUS, 'E');
  t.match(r.STATUS[0].Msg, String(MAX_JOINED));
  const ok = JSON.parse(
    await cgminerAsk(
      d.cgPort,
      JSON.stringify({ command: Array.from({ length: MAX_JOINED }, () => 'summary').join('+') }),
    ),
  ) as Record<string, unknown>;
  t.ok(Array.isArray(ok.summary), `${MAX_JOINED} joined commands are answered`);
});

t.test('slowloris: a byte every second does not keep a connection open past its lifetime', async (t) => {
  const sock = net.connect(d.cgPort, '127.0.0.1');
  let closed = false;
  sock.on('close', () => {
    closed = true;
  });
  sock.on('error', () => {});
  const dribble = setInterval(() => {
    if (!closed) sock.write(' ');
  }, 1000);
  t.teardown(() => {
    clearInterval(dribble);
    sock.destroy();
  });
  await until(() => closed, CONNECTION_LIFETIME_MS * 4, 'the server closes the dribbling connection');
  t.ok(closed);
});

t.test('connections are limited per address and in all; other addresses are still served', async (t) => {
  const { log } = memoryLogger('warn');
  // connections held for the whole test: a slow machine must not see them expire while the server fills
  const api = new CgminerApi(d.api.miner, log, {
    host: '127.0.0.1',
    port: 0,
    allow: '127.0.0.0/8',
    lifetimeMs: 120_000,
  });
  await api.start();
  const held: { sock: net.Socket; closed: () => boolean }[] = [];
  t.teardown(async () => {
    for (const h of held) h.sock.destroy();
    await api.stop();
  });
  for (let i = 0; i < MAX_CONNECTIONS_PER_ADDRESS + 3; i++) held.push(await hold(api.port, '127.0.0.2'));
  // the worker thread accepts (and refuses) in its own time: a loaded machine may take a while
  await until(() => held.filter((h) => !h.closed()).length <= MAX_CONNECTIONS_PER_ADDRESS, 10_000, 'refusals');
  const open = held.filter((h) => !h.closed()).length;
  t.equal(open, MAX_CONNECTIONS_PER_ADDRESS, 'one address holds at most its share');
  t.match(
    JSON.parse(await cgminerAsk(api.port, '{"command":"summary"}', '127.0.0.3')),
    { SUMMARY: [{}] },
    'others served',
  );
  for (const h of held) h.sock.destroy();
  await until(() => api.connections === 0, 5000, 'closed');
  // fill the server from many addresses at once: past the total, new connections are refused
  const addresses = Math.ceil(MAX_CONNECTIONS / MAX_CONNECTIONS_PER_ADDRESS) + 1;
  const batch = await Promise.all(
    Array.from({ length: addresses * MAX_CONNECTIONS_PER_ADDRESS }, (_, i) =>
      hold(api.port, `127.0.1.${1 + Math.floor(i / MAX_CONNECTIONS_PER_ADDRESS)}`),
    ),
  );
  held.push(...batch);
  await until(() => api.connections >= MAX_CONNECTIONS, 10_000, 'the server full');
  t.equal(api.connections, MAX_CONNECTIONS, 'at most the total');
  await until(() => batch.filter((h) => h.closed()).length >= batch.length - MAX_CONNECTIONS, 10_000, 'refusals');
  t.equal(batch.filter((h) => h.closed()).length, batch.length - MAX_CONNECTIONS, 'the rest closed unanswered');
  t.equal(api.connections, MAX_CONNECTIONS, 'still at most the total');
  for (const h of held) h.sock.destroy();
  await until(() => api.connections === 0, 10_000, 'connections closed');
  await sleep(50);
  t.match(
    JSON.parse(await cgminerAsk(api.port, '{"command":"summary"}', '127.0.0.99')),
    { SUMMARY: [{}] },
    'served again',
  );
});

t.test(
  'a flood past every slot and every orderly refusal is dropped before it costs a socket, and counted',
  async (t) => {
    const { log } = memoryLogger('warn');
    const api = new CgminerApi(d.api.miner, log, { host: '127.0.0.1', port: 0, allow: '127.0.0.0/8' });
    await api.start();
    t.teardown(() => api.stop());
    const refused0 = api.counters.refused;
    // 500 connections held open by clients that never send: 64 served slots, the rest refused (orderly while few,
    // then dropped by the listening socket itself)
    const n = 500;
    const held = await Promise.all(
      Array.from({ length: n }, (_, i) => hold(api.port, `127.0.2.${1 + Math.floor(i / MAX_CONNECTIONS_PER_ADDRESS)}`)),
    );
    t.teardown(() => {
      for (const h of held) h.sock.destroy();
    });
    await until(() => held.filter((h) => h.closed()).length >= n - MAX_CONNECTIONS, 10_000, 'refusals');
    t.equal(api.connections, MAX_CONNECTIONS, 'at most the total served');
    await until(() => api.counters.refused - refused0 >= n - MAX_CONNECTIONS, 5000, 'every refusal counted');
    t.equal(api.counters.refused - refused0, n - MAX_CONNECTIONS, 'refused, dropped ones included');
    for (const h of held) h.sock.destroy();
    await until(() => api.connections === 0, 10_000, 'connections closed');
    t.match(
      JSON.parse(await cgminerAsk(api.port, '{"command":"summary"}', '127.0.0.98')),
      { SUMMARY: [{}] },
      'served again',
    );
  },
);
