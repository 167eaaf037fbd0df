import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import t from 'tap';
import { runCommand } from '../src/mqtt/commands.js';
import { freePort, startDaemon } from './helpers/daemon.js';
import { startMosquitto } from './helpers/mosquitto.js';
import { tempDir } from './helpers/proc.js';
import { until } from './helpers/rig.js';

/** A TCP relay we can cut: the broker then sees the daemon vanish without a DISCONNECT, as on a crash. */
async function relay(t: { teardown: (fn: () => unknown) => void }, toPort: number) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((a) => {
    const b = net.connect(toPort, '127.0.0.1');
    for (const s of [a, b]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    a.pipe(b).pipe(a);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return {
    port,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

t.test('MQTT bridge against mosquitto (TLS, password): telemetry, LWT, discovery, commands with roles', async (t) => {
  const dir = tempDir('asicd-mqtt-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const broker = await startMosquitto(dir, { miner: 'miner-pw-123', ha: 'ha-pw-456' });
  t.teardown(() => broker.stop());
  const ca = readFileSync(broker.caFile);

  await t.rejects(
    connectAsync(broker.url, { ca, username: 'miner', password: 'wrong', reconnectPeriod: 0, connectTimeout: 5000 }),
    'a wrong password is refused by the broker',
  );

  const observer: MqttClient = await connectAsync(broker.url, {
    ca,
    username: 'ha',
    password: 'ha-pw-456',
    reconnectPeriod: 0,
  });
  t.teardown(() => observer.endAsync(true));
  const seen = new Map<string, string[]>();
  observer.on('message', (topic, payload) => {
    const list = seen.get(topic) ?? [];
    list.push(payload.toString());
    seen.set(topic, list);
  });
  await observer.subscribeAsync(['asicd/m1/#', 'homeassistant/#']);
  const last = (topic: string) => seen.get(topic)?.at(-1);

  const hop = await relay(t, broker.port);
  const d = await startDaemon({
    mqtt: {
      enabled: true,
      url: `mqtts://127.0.0.1:${hop.port}`,
      username: 'miner',
      password: 'miner-pw-123',
      tls_ca_file: broker.caFile,
      node_id: 'm1',
      interval_s: 1,
      command_role: 'operator',
    },
  });
  t.teardown(() => d.stop());
  const miner = d.api.miner;

  await until(() => last('asicd/m1/status') === 'online', 15_000, 'online');
  await until(() => miner.chains.every((c) => c.state === 'mining'), 15_000, 'boards mining');
  await until(() => Number(JSON.parse(last('asicd/m1/summary') ?? '{}').hashrateHs) > 0, 20_000, 'hash rate published');
  const summary = JSON.parse(last('asicd/m1/summary') ?? '{}');
  t.match(summary, { mining: true, boardsMining: 2, pool: 0, alertsFiring: 0 });
  t.match(JSON.parse(last('asicd/m1/board/1') ?? '{}'), { state: 'mining', chips: 8, maxChipC: Number });
  t.match(JSON.parse(last('asicd/m1/pool/0') ?? '{}'), { status: 'alive', current: true });

  const hashrate = JSON.parse(last('homeassistant/sensor/m1/hashrate/config') ?? '{}');
  t.match(hashrate, {
    unique_id: 'asicd_m1_hashrate',
    state_topic: 'asicd/m1/summary',
    unit_of_measurement: 'TH/s',
    availability_topic: 'asicd/m1/status',
    device: { identifiers: ['asicd_m1'], manufacturer: 'Maijie', model: 'L7' },
  });
  t.match(JSON.parse(last('homeassistant/sensor/m1/board0_temp/config') ?? '{}'), {
    device_class: 'temperature',
    state_topic: 'asicd/m1/board/0',
  });
  const sw = JSON.parse(last('homeassistant/switch/m1/mining/config') ?? '{}');
  t.match(sw, { command_topic: 'asicd/m1/cmd/mining', payload_on: 'ON', payload_off: 'OFF' });

  // commands, as Home Assistant sends them
  const results = () =>
    (seen.get('asicd/m1/cmd/result') ?? []).map(
      (r) => JSON.parse(r) as { command: string; ok: boolean; message: string },
    );
  const send = async (cmd: string, payload: string, n: number) => {
    await observer.publishAsync(`asicd/m1/cmd/${cmd}`, payload);
    await until(() => results().length >= n, 15_000, `result of ${cmd}`);
    return results()[n - 1];
  };
  t.match(await send('mining', 'OFF', 1), { command: 'mining', ok: true });
  t.ok(miner.paused, 'paused');
  await until(() => d.sim.oracle().boards.every((b) => !b.power), 10_000, 'boards powered off (oracle)');
  await until(() => JSON.parse(last('asicd/m1/summary') ?? '{}').mining === false, 5000, 'switch state OFF');
  t.match(await send('mining', 'ON', 2), { ok: true });
  t.notOk(miner.paused, 'resumed');
  t.match(await send('switch_pool', '{"pool": 0}', 3), { ok: true, message: 'pool 0: switch done' });
  t.match(await send('switch_pool', '{"pool": 7}', 4), { ok: false, message: /7/ });
  t.match(await send('tuning_mode', 'efficiency', 5), { ok: true, message: 'tuning mode efficiency' });
  t.equal(miner.tuner.mode, 'efficiency', 'the tuner took the mode');
  t.match(await send('tuning_mode', 'turbo', 6), { ok: false, message: /expected one of off, efficiency/ });
  t.match(await send('self_destruct', '', 7), { ok: false, message: /unknown command/ });
  t.match(await send('pause', 'x'.repeat(2000), 8), { ok: false, message: /over 1024 bytes/ });
  const audit = readFileSync(join(d.dir, 'state', 'audit.log'), 'utf8');
  t.match(audit, /"who":"mqtt:miner".*"action":"MQTT mining"/, 'commands audited');

  // roles: below operator, nothing changes
  t.match(await runCommand(miner, 'viewer', 'pause', ''), { ok: false, message: /needs the operator role/ });
  t.match(await runCommand(miner, 'none', 'resume', ''), { ok: false });
  t.notOk(miner.paused);

  // vanish without a word: the broker publishes our will; then the bridge comes back by itself
  const statuses = () => seen.get('asicd/m1/status') ?? [];
  const before = statuses().length;
  hop.cut();
  await until(() => statuses().slice(before).includes('offline'), 15_000, 'last will published');
  await until(() => statuses().at(-1) === 'online', 30_000, 'reconnected');
  t.pass('offline by last will, then online again');
  t.ok((miner.mqtt?.stats.connects ?? 0) >= 2);

  const metrics = await (await fetch(`${d.base}/metrics`)).text();
  t.match(metrics, /asicd_mqtt_connected 1/);
  t.match(metrics, /asicd_mqtt_messages_total\{direction="published"\} [1-9]/);
  const logs = JSON.stringify(d.logs());
  t.notOk(logs.includes('miner-pw-123'), 'broker password never logged');

  await d.daemon.stop('test done');
  await until(() => last('asicd/m1/status') === 'offline', 5000, 'offline on a clean stop');
  t.pass('clean stop says offline');
});
