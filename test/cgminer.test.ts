import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { CgminerApi, parseAllow } from '../src/api/cgminer.js';
import { startDaemon } from './helpers/daemon.js';
import { memoryLogger } from './helpers/log.js';
import { FIXTURES } from './helpers/proc.js';
import { until } from './helpers/rig.js';

const VEC = join(FIXTURES, 'vectors/cgminer-api');
const vector = (f: string) => {
  const s = readFileSync(join(VEC, f), 'utf8');
  return s.endsWith('\u0000') ? s.slice(0, -1) : s;
};

const d = await startDaemon();
t.teardown(() => d.stop());
await until(() => d.pool.workerStats('api.worker').accepted > 0, 20_000, 'mining');

/** One request over real TCP; returns the raw reply and checks it ends in a NUL followed by the close. */
function ask(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    s.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
    });
    s.on('error', reject);
    s.on('close', () => {
      if (buf.length && buf[buf.length - 1] !== 0) reject(new Error(`reply does not end in NUL: ${buf.toString()}`));
      resolve(buf.subarray(0, Math.max(0, buf.length - 1)).toString('utf8'));
    });
    s.end(request);
  });
}
const json = async (cmd: string, parameter?: string) =>
  JSON.parse(
    await ask(d.cgPort, JSON.stringify(parameter === undefined ? { command: cmd } : { command: cmd, parameter })),
  );

type Obj = Record<string, unknown>;
const kind = (v: unknown) => (Array.isArray(v) ? 'array' : typeof v);

/** Same keys in the same order with the same JSON types, and numbers printed with the same decimals. */
function sameShape(
  t: TestT,
  ours: Obj,
  ref: Obj,
  oursRaw: string,
  refRaw: string,
  where: string,
  ignore: string[] = [],
) {
  const keys = Object.keys(ref).filter((k) => !ignore.includes(k));
  t.same(
    Object.keys(ours).filter((k) => !ignore.includes(k)),
    keys,
    `${where}: field names and order`,
  );
  for (const k of keys) {
    t.equal(kind(ours[k]), kind(ref[k]), `${where}.${k}: type ${kind(ref[k])}`);
    if (typeof ref[k] === 'number') {
      const dec = (raw: string) => {
        const m = new RegExp(`"${k.replace(/[%]/g, '\\$&')}":(-?\\d+)(\\.(\\d+))?`).exec(raw);
        return m?.[3]?.length ?? 0;
      };
      t.equal(dec(oursRaw), dec(refRaw), `${where}.${k}: ${dec(refRaw)} decimals`);
    }
  }
}
type TestT = Pick<typeof t, 'same' | 'equal'>;

t.test('reports match cgminer 4.13.6 field for field', async (t) => {
  for (const [cmd, file, section] of [
    ['summary', 'summary.json', 'SUMMARY'],
    ['pools', 'pools.json', 'POOLS'],
    ['version', 'version.json', 'VERSION'],
    ['config', 'config.json', 'CONFIG'],
    ['coin', 'coin.json', 'COIN'],
    ['asccount', 'asccount.json', 'ASCS'],
  ] as const) {
    const refRaw = vector(file);
    const ref = JSON.parse(refRaw) as Record<string, Obj[]>;
    const oursRaw = await ask(d.cgPort, JSON.stringify({ command: cmd }));
    const ours = JSON.parse(oursRaw) as Record<string, Obj[]>;
    t.same(Object.keys(ours), Object.keys(ref), `${cmd}: top-level keys`);
    sameShape(t, ours.STATUS[0], ref.STATUS[0], oursRaw, refRaw, `${cmd}.STATUS`);
    t.equal(ours.STATUS[0].Code, ref.STATUS[0].Code, `${cmd}: status code`);
    sameShape(t, ours[section][0], ref[section][0], oursRaw, refRaw, `${cmd}.${section}`);
  }
  // stats: our pool entries match cgminer's POOL0 entry
  const refRaw = vector('stats.json');
  const ref = JSON.parse(refRaw) as { STATS: Obj[] };
  const oursRaw = await ask(d.cgPort, '{"command":"stats"}');
  const ours = JSON.parse(oursRaw) as { STATS: Obj[] };
  const pool0 = ours.STATS.find((s) => s.ID === 'POOL0');
  if (!pool0) throw new Error('no POOL0 stats');
  sameShape(t, pool0, ref.STATS[0], oursRaw.slice(oursRaw.indexOf('"ID":"POOL0"') - 20), refRaw, 'stats.POOL0', [
    'STATS',
    // an asicd field after cgminer's own (BIP310 state); tools that read cgminer's fields are unaffected
    'Version Rolling',
  ]);
  t.ok(
    ours.STATS.some((s) => s.ID === 'L70'),
    'a STATS entry per board',
  );
});

t.test('devs and asc rows carry cgminer ascstatus fields', async (t) => {
  const names = [
    'ASC',
    'Name',
    'ID',
    'Enabled',
    'Status',
    'Temperature',
    'MHS av',
    'MHS 5s',
    'MHS 1m',
    'MHS 5m',
    'MHS 15m',
    'Accepted',
    'Rejected',
    'Hardware Errors',
    'Utility',
    'Last Share Pool',
    'Last Share Time',
    'Total MH',
    'Diff1 Work',
    'Difficulty Accepted',
    'Difficulty Rejected',
    'Last Share Difficulty',
    'No Device',
    'Last Valid Work',
    'Device Hardware%',
    'Device Rejected%',
    'Device Elapsed',
  ];
  const devs = await json('devs');
  t.match(devs.STATUS[0], { STATUS: 'S', Code: 9, Msg: '2 ASC(s)' });
  t.same(Object.keys(devs.DEVS[0]), names);
  t.equal(devs.DEVS[0].Status, 'Alive');
  t.ok(devs.DEVS[0]['Total MH'] > 0, 'hashes counted');
  const asc = await json('asc', '1');
  t.match(asc.STATUS[0], { Code: 106, Msg: 'ASC1' });
  t.same(Object.keys(asc.ASC[0]), names);
  t.match((await json('asc', '7')).STATUS[0], { STATUS: 'E', Code: 107, Msg: 'Invalid ASC id 7 - range is 0 - 1' });
  const det = await json('devdetails');
  t.same(Object.keys(det.DEVDETAILS[0]), ['DEVDETAILS', 'Name', 'ID', 'Driver', 'Kernel', 'Model', 'Device Path']);
  t.equal((await json('edevs')).DEVS.length, 2);
  t.equal((await json('estats')).STATS.length, 2);
});

t.test('plain text, joined commands, checks and errors as cgminer prints them', async (t) => {
  const keys = (plain: string) =>
    plain
      .split('|')
      .filter(Boolean)
      .map((sec) => sec.split(',').map((kv) => kv.split('=')[0]));
  const ours = await ask(d.cgPort, 'summary');
  const ref = vector('plain_summary.txt');
  t.same(keys(ours), keys(ref), 'plain summary: same sections and keys');
  t.match(ours, /\|$/);
  t.same(keys(await ask(d.cgPort, 'version')), keys(vector('plain_version.txt')));
  t.equal(
    (await ask(d.cgPort, 'nosuchcmd')).replace(/When=\d+/, 'When=X'),
    vector('plain_nosuchcmd.txt').replace(/When=\d+/, 'When=X'),
  );
  t.same(keys(await ask(d.cgPort, 'check|summary')), keys(vector('plain_check_summary.txt')));
  const multi = JSON.parse(await ask(d.cgPort, '{"command":"summary+pools+devs"}'));
  const refMulti = JSON.parse(vector('multi_summary+pools+devs.json'));
  t.same(Object.keys(multi), Object.keys(refMulti), 'joined reply keys');
  t.equal(multi.summary[0].STATUS[0].Code, 11);
  t.equal(multi.devs[0].DEVS.length, 2);
  const bad = JSON.parse(await ask(d.cgPort, '{"command": "summ'));
  t.same(Object.keys(bad.STATUS[0]), Object.keys(JSON.parse(vector('bad_json.json')).STATUS[0]));
  t.equal(bad.STATUS[0].Code, 23);
  const nosuch = JSON.parse(await ask(d.cgPort, '{"command":"frobnicate"}'));
  t.same(nosuch, {
    ...JSON.parse(vector('nosuchcmd.json')),
    STATUS: [{ ...JSON.parse(vector('nosuchcmd.json')).STATUS[0], When: nosuch.STATUS[0].When }],
  });
  t.match((await json('check', 'summary')).CHECK[0], { Exists: 'Y', Access: 'Y' });
  t.match((await json('check', 'nope')).CHECK[0], { Exists: 'N' });
  t.match((await json('check')).STATUS[0], { Code: 71, Msg: 'Missing check cmd' });
});

t.test('privileged commands: denied read-only, allowed with W:, bad parameters answered', async (t) => {
  // the daemon's API allows loopback read-only by default
  const denied = await json('switchpool', '0');
  t.match(denied.STATUS[0], { STATUS: 'E', Code: 45, Msg: "Access denied to 'switchpool' command" });
  t.match((await json('privileged')).STATUS[0], { Code: 45 });
  const { log } = memoryLogger('warn');
  const w = new CgminerApi(d.api.miner, log, {
    host: '127.0.0.1',
    port: 0,
    allow: 'W:127.0.0.1/32',
  });
  await w.start();
  const ask2 = async (cmd: string, parameter?: string) =>
    JSON.parse(await ask(w.port, JSON.stringify({ command: cmd, parameter })));
  t.same(
    Object.keys((await ask2('privileged')).STATUS[0]),
    Object.keys(JSON.parse(vector('privileged.json')).STATUS[0]),
  );
  t.match((await ask2('privileged')).STATUS[0], { STATUS: 'S', Code: 46, Msg: 'Privileged access OK' });
  t.match((await ask2('switchpool', '5')).STATUS[0], {
    STATUS: 'E',
    Code: 26,
    Msg: 'Invalid pool id 5 - range is 0 - 0',
  });
  t.match((await ask2('switchpool')).STATUS[0], { Code: 25 });
  t.match((await ask2('disablepool', '0')).STATUS[0], { Code: 51, Msg: /Cannot disable last active pool 0/ });
  t.match((await ask2('addpool', 'stratum+tcp://127.0.0.1:1,u')).STATUS[0], { Code: 53 });
  t.match((await ask2('addpool', 'http://x,u,p')).STATUS[0], { Code: 53 });
  t.match((await ask2('addpool', `${d.pool.url},second,pw`)).STATUS[0], { STATUS: 'S', Code: 55, Msg: /Added pool 1/ });
  t.match((await ask2('poolpriority', '1,1')).STATUS[0], { Code: 74 });
  t.match((await ask2('poolpriority', '1,0')).STATUS[0], { Code: 73 });
  t.match((await ask2('poolquota', '1,-2')).STATUS[0], { Code: 121 });
  t.match((await ask2('poolquota', '1,4')).STATUS[0], { Code: 122 });
  t.match((await ask2('removepool', '9')).STATUS[0], { Code: 26 });
  await until(() => d.pool.connectionCount >= 2, 10_000, 'second pool connected');
  await new Promise((r) => setTimeout(r, 300));
  t.match((await ask2('switchpool', '0')).STATUS[0], { Code: 27, Msg: /Switching to pool 0/ });
  t.match((await ask2('removepool', '1')).STATUS[0], { Code: 68, Msg: /Removed pool 1/ });
  t.match((await ask2('ascset', '0,freq,900')).STATUS[0], { Code: 120 });
  t.match((await ask2('ascset', '0,help')).STATUS[0], { Code: 118 });
  t.match((await ask2('ascset', '0')).STATUS[0], { Code: 116 });
  // the client half-closes while the ramp runs: the command must run once (a second run would answer "changing
  // frequency" first)
  t.match((await ask2('ascset', '0,freq,425')).STATUS[0], { Code: 119, Msg: 'ASC 0 set OK' });
  t.ok(
    d.sim.oracle().boards[0].chips.every((c) => Math.abs(c.freqMHz - 425) < 1),
    'chips at 425 MHz',
  );
  t.match((await ask2('ascidentify', '1')).STATUS[0], { Code: 113 });
  t.equal(d.sim.boards[1].led, 2);
  t.match((await ask2('ascidentify', 'x')).STATUS[0], { Code: 107 });
  const r = JSON.parse(await ask(w.port, '{"command":"restart"}'));
  t.same(r, { STATUS: [{ STATUS: 'RESTART' }], id: 1 });
  await w.stop();
});

t.test('--api-allow networks: addresses outside are closed unanswered', async (t) => {
  const rules = parseAllow('W:10.0.0.0/8,192.168.1.5,R:127.0.0.1/32');
  t.equal(rules.length, 3);
  t.throws(() => parseAllow('W:nonsense'));
  const { log } = memoryLogger('warn');
  const api = new CgminerApi(d.api.miner, log, { host: '127.0.0.1', port: 0, allow: '10.0.0.0/8' });
  t.equal(api.access('10.1.2.3'), 'R');
  t.equal(api.access('127.0.0.1'), undefined);
  await api.start();
  t.equal(await ask(api.port, 'summary'), '', 'no reply to a stranger');
  await api.stop();
});
