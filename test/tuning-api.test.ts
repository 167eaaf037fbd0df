import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import t from 'tap';
import WebSocket from 'ws';
import { buildComponents } from '../src/components.js';
import { ConfigStore } from '../src/config/store.js';
import { Daemon } from '../src/daemon.js';
import { profileFor } from './fixtures/profile-writer.js';
import { startDaemon } from './helpers/daemon.js';
import { memoryLogger } from './helpers/log.js';
import { until } from './helpers/rig.js';

// The tuning API over real HTTP and a real WebSocket: who may change it, what is refused and why, the `tuning`
// topic's stage and progress, and a change that is saved to the config file (never an environment override) and
// is still there after a restart.

// an environment override of one tuning setting: it runs, but must never be written into the file
const env = { ASICD_TUNING_HASHRATE_TARGET_THS: '55' };
const d = await startDaemon({ tuning: { mode: 'off', measure_nonces_per_chip_s: 200, settle_s: 5 } }, {}, env);
t.teardown(() => d.stop());
const admin = readFileSync(join(d.dir, 'state', 'admin.token'), 'utf8').trim();

async function http(method: string, path: string, token?: string, body?: unknown) {
  const r = await fetch(`${d.base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, text, json: JSON.parse(text) as Record<string, unknown> };
}

let tokens = 0;
async function token(role: string): Promise<string> {
  const r = await http('POST', '/api/v1/tokens', admin, { name: `tuning-${role}-${++tokens}`, role });
  if (r.status !== 201) throw new Error(`token: ${r.status} ${r.text}`);
  return r.json.token as string;
}

const fileTuning = () => (parse(readFileSync(d.file, 'utf8')) as { tuning?: Record<string, unknown> }).tuning ?? {};

interface TuningMessage {
  topic: string;
  data: { mode: string; powerTargetW: number; boards: { stage: string; progress: number }[] };
}

t.test('PUT /api/v1/tuning: a viewer is refused, bad bodies say what is wrong, nothing changes', async (t) => {
  const viewer = await token('viewer');
  t.equal((await http('PUT', '/api/v1/tuning', undefined, { mode: 'power' })).status, 401, 'no token');
  const asViewer = await http('PUT', '/api/v1/tuning', viewer, { mode: 'power' });
  t.equal(asViewer.status, 403, `a viewer may read but not change tuning: ${asViewer.text}`);
  t.equal((await http('GET', '/api/v1/tuning', viewer)).status, 200, 'a viewer reads it');
  const operator = await token('operator');
  const bad: [unknown, RegExp][] = [
    [{ mode: 'turbo' }, /body\.mode: expected one of off, efficiency, hashrate, power"/],
    [{ power_target_w: 50 }, /power_target_w/],
    [{ power_target_w: 'lots' }, /power_target_w/],
    [{ mode: 'power', fan: 100 }, /additional|fan/],
    [{ board: 9, retune: true }, /board/],
    // the schema allows boards 0–3; this miner has two
    [{ board: 2, retune: true }, /no board 2.*boards 0, 1/],
    [{ board: 3, reset_profiles: true }, /no board 3/],
  ];
  for (const [body, why] of bad) {
    const r = await http('PUT', '/api/v1/tuning', operator, body);
    t.equal(r.status, 400, `${JSON.stringify(body)} refused`);
    t.match(r.text, why, `and the error says where: ${r.text}`);
  }
  const view = await http('GET', '/api/v1/tuning', viewer);
  t.equal(view.json.mode, 'off', 'no refused body changed the mode');
  t.notOk('mode' in fileTuning() && fileTuning().mode !== 'off', 'nor the file');
});

t.test('reset_profiles removes a stored profile while tuning is off (no board has been tuned yet)', async (t) => {
  const chains = d.api.miner.chains;
  await until(() => chains.every((c) => c.state === 'mining' && c.info.boardId !== ''), 30_000, 'boards up');
  const store = d.api.miner.tuner.store;
  mkdirSync(store.dir, { recursive: true });
  const serial = chains[0].info.boardId.trim();
  writeFileSync(store.fileOf(serial), JSON.stringify({ ...profileFor(1), boardId: serial }));
  const operator = await token('operator');
  const r = await http('PUT', '/api/v1/tuning', operator, { reset_profiles: true });
  t.equal(r.status, 200, r.text.slice(0, 200));
  t.equal(r.json.removedProfiles, 1, 'the stored profile is removed');
  t.notOk(existsSync(store.fileOf(serial)), 'and gone from the state folder');
});

t.test('an operator PUT is applied live, pushed on the tuning topic, and saved to the file', async (t) => {
  const operator = await token('operator');
  const ws = new WebSocket(`${d.base.replace('http', 'ws')}/api/v1/ws`, ['asicd', `asicd.bearer.${operator}`]);
  t.teardown(() => ws.close());
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  const got: TuningMessage[] = [];
  ws.on('message', (m) => {
    const msg = JSON.parse(String(m)) as TuningMessage;
    if (msg.topic === 'tuning') got.push(msg);
  });
  ws.send(JSON.stringify({ subscribe: ['tuning'] }));
  await until(() => d.api.miner.chains.every((c) => c.state === 'mining'), 60_000, 'boards mining');

  const r = await http('PUT', '/api/v1/tuning', operator, { mode: 'power', power_target_w: 200 });
  t.equal(r.status, 200, 'an operator may change tuning');
  t.match(r.json, { mode: 'power', powerTargetW: 200, hashrateTargetThs: 55 }, 'live, with the override still on');
  t.match(fileTuning(), { mode: 'power', power_target_w: 200 }, 'the file holds the change');
  t.not(fileTuning().hashrate_target_ths, 55, 'and not the environment override');

  // the topic: the new mode, then boards moving through their stages with progress
  await until(
    () => got.some((m) => m.data.mode === 'power' && m.data.boards.some((b) => b.stage === 'searching')),
    30_000,
    'a tuning message with a board searching',
  );
  const last = got[got.length - 1].data;
  t.equal(last.powerTargetW, 200);
  t.ok(
    last.boards.every((b) => typeof b.progress === 'number' && b.progress >= 0 && b.progress <= 1),
    `progress per board: ${JSON.stringify(last.boards.map((b) => [b.stage, b.progress]))}`,
  );
  const seen = got.length;
  await until(() => got.length > seen, 20_000, 'further tuning updates while the boards tune');
});

t.test('the saved tuning setting survives a restart', async (t) => {
  await d.daemon.stop('restart for the test');
  const mem = memoryLogger('info');
  const d2 = new Daemon(ConfigStore.open(d.file, env), d.file, mem.log, buildComponents);
  await d2.start();
  t.teardown(() => d2.stop('test done'));
  const view = await http('GET', '/api/v1/tuning');
  t.match(view.json, { mode: 'power', powerTargetW: 200, hashrateTargetThs: 55 }, 'the new daemon tunes as saved');
  const operator = await token('operator');
  const off = await http('PUT', '/api/v1/tuning', operator, { mode: 'off' });
  t.equal(off.status, 200, 'mode off');
  t.match(fileTuning(), { mode: 'off', power_target_w: 200 });
  t.not(fileTuning().hashrate_target_ths, 55, 'the override is still kept out of the file');
});
