import net from 'node:net';
import type { ChainController } from '../chain/controller.js';
import { validateConfig } from '../config/load.js';
import { findPll } from '../device/maijie-l7/pll.js';
import { RATINGS } from '../device/maijie-l7/ratings.js';
import type { Miner } from '../miner.js';
import type { Component } from '../util/lifecycle.js';
import type { Logger } from '../util/log.js';
import { VERSION } from '../version.js';
import { type Field, type Reply, replyJson, replyPlain, type Section } from './cgminer-format.js';

// The cgminer-compatible API on TCP 4028 (cgminer 4.13.6, API 3.7): JSON and plain requests, `+`-joined
// commands, one reply ending in NUL, then close. Access as cgminer's --api-allow.

const API_VERSION = '3.7';
const DESCRIPTION = `asicd ${VERSION}`;
const MAX_REQUEST = 8192;

type Severity = 'S' | 'E' | 'W' | 'I';

export const MSG = {
  POOL: 7,
  NOPOOL: 8,
  DEVS: 9,
  NODEVS: 10,
  SUMM: 11,
  INVCMD: 14,
  MISID: 15,
  VERSION: 22,
  INVJSON: 23,
  MISPID: 25,
  INVPID: 26,
  SWITCHP: 27,
  MINECONFIG: 33,
  ACCDENY: 45,
  ACCOK: 46,
  ENAPOOL: 47,
  DISPOOL: 48,
  ALRENAP: 49,
  ALRDISP: 50,
  DISLASTP: 51,
  MISPDP: 52,
  INVPDP: 53,
  TOOMANYP: 54,
  ADDPOOL: 55,
  REMLASTP: 66,
  ACTPOOL: 67,
  REMPOOL: 68,
  DEVDETAILS: 69,
  MINESTATS: 70,
  MISCHK: 71,
  CHECK: 72,
  POOLPRIO: 73,
  DUPPID: 74,
  MINECOIN: 78,
  INVNUM: 84,
  CONPAR: 85,
  NUMASC: 104,
  ASCNON: 105,
  ASCDEV: 106,
  INVASC: 107,
  ASCIDENT: 113,
  MISASCOPT: 116,
  ASCSETINFO: 118,
  ASCSETOK: 119,
  ASCSETERR: 120,
  INVNEG: 121,
  SETQUOTA: 122,
} as const;

function status(sev: Severity, code: number, msg: string, withDescription = true): Section {
  const s: Section = [
    ['STATUS', 'str', sev],
    ['When', 'int', Math.floor(Date.now() / 1000)],
    ['Code', 'int', code],
    ['Msg', 'str', msg],
  ];
  if (withDescription) s.push(['Description', 'str', DESCRIPTION]);
  return s;
}

const msgOnly = (sev: Severity, code: number, msg: string): Reply => ({ status: status(sev, code, msg) });

interface Command {
  privileged: boolean;
  joinable: boolean;
  run: (param: string | undefined) => Reply | Promise<Reply>;
}

/** cgminer's --api-allow: "W:127.0.0.1/32,R:10.0.0.0/8,192.168.1.5"; W grants privileged commands. */
export function parseAllow(spec: string): { net: net.BlockList; write: boolean }[] {
  const out: { net: net.BlockList; write: boolean }[] = [];
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(?:([WR]):)?(.+)$/i.exec(raw);
    if (!m) continue;
    const write = (m[1] ?? 'R').toUpperCase() === 'W';
    const [addr, bitsText] = m[2].split('/');
    const v6 = net.isIPv6(addr);
    if (!net.isIP(addr)) throw new Error(`api allow: "${raw}" is not an address or network`);
    const bits = bitsText === undefined ? (v6 ? 128 : 32) : Number(bitsText);
    const list = new net.BlockList();
    list.addSubnet(addr, bits, v6 ? 'ipv6' : 'ipv4');
    out.push({ net: list, write });
  }
  return out;
}

export class CgminerApi implements Component {
  readonly name = 'cgminer-api';
  private server: net.Server | undefined;
  private allow: { net: net.BlockList; write: boolean }[];
  private readonly commands: Record<string, Command>;

  constructor(
    private readonly miner: Miner,
    private readonly log: Logger,
    private readonly opts: { host: string; port: number; allow: string },
  ) {
    this.allow = parseAllow(opts.allow);
    this.commands = this.table();
  }

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.opts.port;
  }

  async start(): Promise<void> {
    // half-open: a client may send its request and shut its side before we answer (cgminer's own clients do)
    const server = net.createServer({ allowHalfOpen: true }, (s) => this.accept(s));
    this.server = server;
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(this.opts.port, this.opts.host, () => res());
    });
    this.log.info({ host: this.opts.host, port: this.port, allow: this.opts.allow }, 'cgminer API listening');
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Which access an address has: undefined = none (the connection is closed unanswered). */
  access(ip: string): 'R' | 'W' | undefined {
    const a = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
    const family = net.isIPv6(a) ? 'ipv6' : 'ipv4';
    let found: 'R' | 'W' | undefined;
    for (const rule of this.allow) {
      if (rule.net.check(a, family)) {
        if (rule.write) return 'W';
        found = 'R';
      }
    }
    return found;
  }

  private accept(sock: net.Socket): void {
    const group = this.access(sock.remoteAddress ?? '');
    if (!group) {
      sock.destroy();
      return;
    }
    sock.setTimeout(5000, () => sock.destroy());
    let buf = '';
    let answered = false;
    // one request per connection, run once: a client that half-closes while a command runs must not run it again
    const finish = async () => {
      if (answered) return;
      answered = true;
      sock.removeAllListeners('data');
      const reply = await this.handle(buf, group);
      sock.end(`${reply}\u0000`);
    };
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      if (buf.length > MAX_REQUEST) {
        answered = true;
        sock.removeAllListeners('data');
        sock.end(`${replyJson(msgOnly('E', MSG.INVCMD, 'Invalid command'))}\u0000`);
        return;
      }
      // a request is complete at a NUL or newline, or when it is a whole JSON object
      const trimmed = buf.replaceAll('\u0000', '').trim();
      if (buf.includes('\n') || buf.includes('\u0000') || (trimmed.startsWith('{') && isJson(trimmed))) void finish();
    });
    sock.on('end', () => {
      if (buf.length) void finish();
    });
    sock.on('error', () => {});
  }

  /** One request in, one reply out (without the NUL). */
  async handle(raw: string, group: 'R' | 'W'): Promise<string> {
    const text = raw.replaceAll('\u0000', '').trim();
    if (text.startsWith('{')) {
      let req: unknown;
      try {
        req = JSON.parse(text);
      } catch {
        return replyJson(msgOnly('E', MSG.INVJSON, 'Invalid JSON'));
      }
      const o = req as { command?: unknown; parameter?: unknown };
      if (typeof o.command !== 'string') return replyJson(msgOnly('E', 24, "Missing JSON 'command'"));
      const param = o.parameter === undefined || o.parameter === null ? undefined : String(o.parameter);
      const names = o.command
        .split('+')
        .map((c) => c.trim())
        .filter(Boolean);
      if (names.length > 1) {
        const parts: string[] = [];
        for (const name of names) {
          const cmd = this.commands[name];
          const r =
            cmd && !cmd.joinable
              ? msgOnly('E', 45, `Access denied to '${name}' command`)
              : await this.run(name, param, group);
          parts.push(`${JSON.stringify(name)}:[${replyJson(r)}]`);
        }
        return `{${parts.join(',')},"id":1}`;
      }
      return replyJson(await this.run(names[0] ?? '', param, group));
    }
    const bar = text.indexOf('|');
    const name = bar < 0 ? text : text.slice(0, bar);
    const param = bar < 0 ? undefined : text.slice(bar + 1);
    return replyPlain(await this.run(name, param, group));
  }

  private async run(name: string, param: string | undefined, group: 'R' | 'W'): Promise<Reply> {
    const cmd = Object.hasOwn(this.commands, name) ? this.commands[name] : undefined;
    if (!cmd) return { status: status('E', MSG.INVCMD, 'Invalid command', false) };
    if (cmd.privileged && group !== 'W') return msgOnly('E', MSG.ACCDENY, `Access denied to '${name}' command`);
    try {
      return await cmd.run(param);
    } catch (err) {
      this.log.warn({ command: name, err: (err as Error).message }, 'cgminer API command failed');
      return msgOnly('E', MSG.INVCMD, `Invalid command: ${(err as Error).message}`);
    }
  }

  // ---- data ------------------------------------------------------------------------------------------------

  private ascRow(c: ChainController): Section {
    const m = c.meter.windows();
    const k = c.counters;
    const elapsed = Math.max(1, (Date.now() - c.meter.startedMs) / 1000);
    const diff1 = c.chips.reduce((a, x) => a + x.nonces, 0) * 2 ** (c.ticket - 32);
    const status =
      c.state === 'mining'
        ? c.chips.some((x) => x.silent)
          ? 'Sick'
          : 'Alive'
        : c.state === 'bringup'
          ? 'Initialising'
          : c.state === 'paused'
            ? 'NoStart'
            : 'Dead';
    return [
      ['ASC', 'int', c.index],
      ['Name', 'str', 'L7'],
      ['ID', 'int', c.index],
      ['Enabled', 'str', c.state === 'paused' ? 'N' : 'Y'],
      ['Status', 'str', status],
      ['Temperature', 'temp', Number.isFinite(c.readings.maxChipC) ? c.readings.maxChipC : 0],
      ['MHS av', 'mhs', m.avg / 1e6],
      ['MHS 5s', 'mhs', m.h5s / 1e6],
      ['MHS 1m', 'mhs', m.h1m / 1e6],
      ['MHS 5m', 'mhs', m.h5m / 1e6],
      ['MHS 15m', 'mhs', m.h15m / 1e6],
      ['Accepted', 'int', k.accepted],
      ['Rejected', 'int', k.rejected],
      ['Hardware Errors', 'int', k.hwErrors],
      ['Utility', 'utility', (k.accepted / elapsed) * 60],
      ['Last Share Pool', 'int', k.lastShareMs > 0 ? k.lastSharePool : -1],
      ['Last Share Time', 'int', Math.floor(k.lastShareMs / 1000)],
      ['Total MH', 'mhtotal', c.meter.totalHashes / 1e6],
      ['Diff1 Work', 'int', Math.floor(diff1)],
      ['Difficulty Accepted', 'diff', k.acceptedDifficulty],
      ['Difficulty Rejected', 'diff', k.rejectedDifficulty],
      ['Last Share Difficulty', 'diff', k.lastShareDifficulty],
      ['No Device', 'bool', c.state === 'lost'],
      ['Last Valid Work', 'int', Math.floor(Math.max(0, ...c.chips.map((x) => x.lastNonceMs)) / 1000)],
      ['Device Hardware%', 'percent', k.hwErrors + diff1 > 0 ? (k.hwErrors / (k.hwErrors + diff1)) * 100 : 0],
      ['Device Rejected%', 'percent', diff1 > 0 ? (k.rejectedDifficulty / diff1) * 100 : 0],
      ['Device Elapsed', 'int', Math.floor(elapsed)],
    ];
  }

  private poolRow(i: number): Section {
    const p = this.miner.pools.pools[i];
    const s = p.stats;
    const total = s.acceptedDifficulty + s.rejectedDifficulty + s.staleDifficulty;
    const status =
      p.health === 'alive'
        ? 'Alive'
        : p.health === 'dead'
          ? 'Dead'
          : p.health === 'disabled'
            ? 'Disabled'
            : 'Rejecting';
    const active = p.client.state === 'ready';
    const host = (/^stratum\+\w+:\/\/([^:/]+)/.exec(p.config.url) ?? [])[1] ?? '';
    return [
      ['POOL', 'int', i],
      ['URL', 'esc', p.config.url],
      ['Status', 'str', status],
      ['Priority', 'int', p.config.priority],
      ['Quota', 'int', p.config.quota],
      ['Long Poll', 'str', 'N'],
      ['Getworks', 'int', s.getworks],
      ['Accepted', 'int', s.accepted],
      ['Rejected', 'int', s.rejected],
      ['Works', 'int', s.getworks],
      ['Discarded', 'int', 0],
      ['Stale', 'int', s.stale],
      ['Get Failures', 'int', p.client.counters.disconnects],
      ['Remote Failures', 'int', s.lost],
      ['User', 'esc', p.config.user],
      ['Last Share Time', 'int', Math.floor(s.lastShareMs / 1000)],
      ['Diff1 Shares', 'int', Math.floor(s.acceptedDifficulty)],
      ['Proxy Type', 'str', ''],
      ['Proxy', 'str', ''],
      ['Difficulty Accepted', 'diff', s.acceptedDifficulty],
      ['Difficulty Rejected', 'diff', s.rejectedDifficulty],
      ['Difficulty Stale', 'diff', s.staleDifficulty],
      ['Last Share Difficulty', 'diff', p.client.difficulty],
      ['Work Difficulty', 'diff', p.client.currentJob?.difficulty ?? p.client.difficulty],
      ['Has Stratum', 'bool', true],
      ['Stratum Active', 'bool', active],
      ['Stratum URL', 'esc', active ? host : ''],
      ['Stratum Difficulty', 'diff', active ? p.client.difficulty : 0],
      ['Has Vmask', 'bool', p.client.versionMask !== 0],
      ['Has GBT', 'bool', false],
      ['Best Share', 'int', Math.floor(s.bestShare)],
      ['Pool Rejected%', 'percent', total ? (s.rejectedDifficulty / total) * 100 : 0],
      ['Pool Stale%', 'percent', total ? (s.staleDifficulty / total) * 100 : 0],
      ['Bad Work', 'int', 0],
      ['Current Block Height', 'int', 0],
      ['Current Block Version', 'int', p.client.currentJob?.version ?? 0],
    ];
  }

  private summaryRow(): Section {
    const m = this.miner;
    const s = m.summary();
    const elapsed = Math.max(1, s.uptimeS);
    const diff1 = m.chains.reduce((a, c) => a + c.chips.reduce((n, x) => n + x.nonces, 0) * 2 ** (c.ticket - 32), 0);
    const total = s.acceptedDifficulty + s.rejectedDifficulty + s.staleDifficulty;
    const getworks = m.pools.pools.reduce((a, p) => a + p.stats.getworks, 0);
    return [
      ['Elapsed', 'int', s.uptimeS],
      ['MHS av', 'mhs', s.hashrate.avg / 1e6],
      ['MHS 5s', 'mhs', s.hashrate.h5s / 1e6],
      ['MHS 1m', 'mhs', s.hashrate.h1m / 1e6],
      ['MHS 5m', 'mhs', s.hashrate.h5m / 1e6],
      ['MHS 15m', 'mhs', s.hashrate.h15m / 1e6],
      ['Found Blocks', 'int', 0],
      ['Getworks', 'int', getworks],
      ['Accepted', 'int', s.accepted],
      ['Rejected', 'int', s.rejected],
      ['Hardware Errors', 'int', s.hwErrors],
      ['Utility', 'utility', (s.accepted / elapsed) * 60],
      ['Discarded', 'int', 0],
      ['Stale', 'int', s.stale],
      ['Get Failures', 'int', m.pools.pools.reduce((a, p) => a + p.client.counters.disconnects, 0)],
      ['Local Work', 'int', m.chains.reduce((a, c) => a + c.counters.jobsSent, 0)],
      ['Remote Failures', 'int', s.lost],
      ['Network Blocks', 'int', 0],
      ['Total MH', 'mhtotal', m.chains.reduce((a, c) => a + c.meter.totalHashes, 0) / 1e6],
      ['Work Utility', 'utility', (diff1 / elapsed) * 60],
      ['Difficulty Accepted', 'diff', s.acceptedDifficulty],
      ['Difficulty Rejected', 'diff', s.rejectedDifficulty],
      ['Difficulty Stale', 'diff', s.staleDifficulty],
      ['Best Share', 'int', Math.floor(s.bestShare)],
      ['Device Hardware%', 'percent', s.hwErrors + diff1 > 0 ? (s.hwErrors / (s.hwErrors + diff1)) * 100 : 0],
      ['Device Rejected%', 'percent', diff1 > 0 ? (s.rejectedDifficulty / diff1) * 100 : 0],
      ['Pool Rejected%', 'percent', total ? (s.rejectedDifficulty / total) * 100 : 0],
      ['Pool Stale%', 'percent', total ? (s.staleDifficulty / total) * 100 : 0],
      ['Last getwork', 'int', Math.floor(Date.now() / 1000)],
    ];
  }

  private poolIndex(param: string | undefined): number | Reply {
    const n = this.miner.pools.pools.length;
    if (n === 0) return msgOnly('E', MSG.NOPOOL, 'No pools');
    if (param === undefined || param.trim() === '') return msgOnly('E', MSG.MISPID, 'Missing pool id parameter');
    const id = Number.parseInt(param, 10);
    if (!Number.isInteger(id) || id < 0 || id >= n)
      return msgOnly('E', MSG.INVPID, `Invalid pool id ${Number.isNaN(id) ? param : id} - range is 0 - ${n - 1}`);
    return id;
  }

  private ascIndex(param: string | undefined): number | Reply {
    const n = this.miner.chains.length;
    if (n === 0) return msgOnly('E', MSG.ASCNON, 'No ASCs');
    if (param === undefined || param.trim() === '') return msgOnly('E', MSG.MISID, 'Missing device id parameter');
    const id = Number.parseInt(param, 10);
    if (!Number.isInteger(id) || id < 0 || id >= n)
      return msgOnly('E', MSG.INVASC, `Invalid ASC id ${Number.isNaN(id) ? param : id} - range is 0 - ${n - 1}`);
    return id;
  }

  private table(): Record<string, Command> {
    const m = this.miner;
    const read = (run: Command['run'], joinable = true): Command => ({ privileged: false, joinable, run });
    const write = (run: Command['run']): Command => ({ privileged: true, joinable: false, run });
    const url = (i: number) => m.pools.pools[i]?.config.url ?? '';
    const devs = (): Reply =>
      m.chains.length === 0
        ? msgOnly('E', MSG.NODEVS, 'No ASCs')
        : {
            status: status('S', MSG.DEVS, `${m.chains.length} ASC(s)`),
            name: 'DEVS',
            rows: m.chains.map((c) => this.ascRow(c)),
          };
    const stats = (withPools: boolean): Reply => {
      const rows: Section[] = [];
      for (const c of m.chains) {
        const extra: Field[] = [
          ['Chips', 'int', c.chips.length],
          ['Frequency', 'double', c.freqMHz],
          ['Voltage', 'double', c.readings.voltageMv / 1000],
          ['Power', 'double', c.readings.powerW],
          ['Ticket Zeros', 'int', c.ticket],
          ['CRC Errors', 'int', c.linkCounters.crcErrors],
          ['Lost Replies', 'int', c.counters.noncesLost],
          ['Temp Inlet', 'temp', c.readings.inletC],
          ['Temp Outlet', 'temp', c.readings.outletC],
          ...c.readings.tempsC.map((t, i): Field => [`Temp Chip${i}`, 'temp', t]),
          ['Fan Speeds', 'str', m.fans.readings.map((f) => f.rpm).join(' ')],
        ];
        rows.push([
          ['STATS', 'int', rows.length],
          ['ID', 'str', `L7${c.index}`],
          ['Elapsed', 'int', Math.floor((Date.now() - m.startedMs) / 1000)],
          ['Calls', 'int', 0],
          ['Wait', 'timeval', 0],
          ['Max', 'timeval', 0],
          ['Min', 'timeval', 99999999],
          ...extra,
        ]);
      }
      if (withPools) {
        m.pools.pools.forEach((p, i) => {
          const d = p.client.difficulty;
          rows.push([
            ['STATS', 'int', rows.length],
            ['ID', 'str', `POOL${i}`],
            ['Elapsed', 'int', Math.floor((Date.now() - m.startedMs) / 1000)],
            ['Calls', 'int', 0],
            ['Wait', 'timeval', 0],
            ['Max', 'timeval', 0],
            ['Min', 'timeval', 99999999],
            ['Pool Calls', 'int', 0],
            ['Pool Attempts', 'int', 0],
            ['Pool Wait', 'timeval', 0],
            ['Pool Max', 'timeval', 0],
            ['Pool Min', 'timeval', 99999999],
            ['Pool Av', 'double', p.stats.lastLatencyMs / 1000],
            ['Work Had Roll Time', 'bool', false],
            ['Work Can Roll', 'bool', false],
            ['Work Had Expire', 'bool', false],
            ['Work Roll Time', 'int', 0],
            ['Work Diff', 'diff', d],
            ['Min Diff', 'diff', d],
            ['Max Diff', 'diff', d],
            ['Min Diff Count', 'int', 0],
            ['Max Diff Count', 'int', 0],
            ['Times Sent', 'int', p.stats.accepted + p.stats.rejected + p.stats.stale],
            ['Bytes Sent', 'int', 0],
            ['Times Recv', 'int', p.client.counters.linesIn],
            ['Bytes Recv', 'int', 0],
            ['Net Bytes Sent', 'int', 0],
            ['Net Bytes Recv', 'int', 0],
          ]);
        });
      }
      return { status: status('S', MSG.MINESTATS, 'CGMiner stats'), name: 'STATS', rows };
    };
    return {
      version: read(() => ({
        status: status('S', MSG.VERSION, 'CGMiner versions'),
        name: 'VERSION',
        rows: [
          [
            ['CGMiner', 'str', VERSION],
            ['API', 'str', API_VERSION],
          ],
        ],
      })),
      config: read(() => ({
        status: status('S', MSG.MINECONFIG, 'CGMiner config'),
        name: 'CONFIG',
        rows: [
          [
            ['ASC Count', 'int', m.chains.length],
            ['PGA Count', 'int', 0],
            ['Pool Count', 'int', m.pools.pools.length],
            ['Strategy', 'str', strategyName(m.pools.strategy)],
            ['Log Interval', 'int', 5],
            ['Device Code', 'str', 'L7 '],
            ['OS', 'str', 'Linux'],
            ['Hotplug', 'int', 0],
          ],
        ],
      })),
      summary: read(() => ({ status: status('S', MSG.SUMM, 'Summary'), name: 'SUMMARY', rows: [this.summaryRow()] })),
      devs: read(devs),
      edevs: read(devs),
      pools: read(() =>
        m.pools.pools.length === 0
          ? msgOnly('E', MSG.NOPOOL, 'No pools')
          : {
              status: status('S', MSG.POOL, `${m.pools.pools.length} Pool(s)`),
              name: 'POOLS',
              rows: m.pools.pools.map((_, i) => this.poolRow(i)),
            },
      ),
      stats: read(() => stats(true)),
      estats: read(() => stats(false)),
      devdetails: read(() =>
        m.chains.length === 0
          ? msgOnly('E', MSG.NODEVS, 'No ASCs')
          : {
              status: status('S', MSG.DEVDETAILS, 'Device Details'),
              name: 'DEVDETAILS',
              rows: m.chains.map((c) => [
                ['DEVDETAILS', 'int', c.index],
                ['Name', 'str', 'L7'],
                ['ID', 'int', c.index],
                ['Driver', 'str', 'maijie-l7'],
                ['Kernel', 'str', ''],
                ['Model', 'str', c.info.boardId || 'Maijie L7'],
                ['Device Path', 'str', c.config.uart],
              ]),
            },
      ),
      coin: read(() => {
        const job = m.pools.current?.client.currentJob;
        const prev = job ? Buffer.from(job.prevHashHex, 'hex') : Buffer.alloc(32);
        // display order: reverse the bytes of the header's prev hash
        const header = Buffer.alloc(32);
        for (let w = 0; w < 8; w++) for (let k = 0; k < 4; k++) header[w * 4 + k] = prev[w * 4 + 3 - k];
        return {
          status: status('S', MSG.MINECOIN, 'CGMiner coin'),
          name: 'COIN',
          rows: [
            [
              ['Hash Method', 'str', 'sha256'],
              ['Current Block Time', 'timeval', (job?.receivedAtMs ?? 0) / 1000],
              ['Current Block Hash', 'str', Buffer.from(header).reverse().toString('hex')],
              ['LP', 'bool', false],
              ['Network Difficulty', 'diff', job ? nbitsDifficulty(job.nbits) : 0],
            ],
          ],
        };
      }),
      check: read((param) => {
        if (!param) return msgOnly('E', MSG.MISCHK, 'Missing check cmd');
        const exists = Object.hasOwn(this.commands, param);
        return {
          status: status('S', MSG.CHECK, 'Check command'),
          name: 'CHECK',
          rows: [
            [
              ['Exists', 'str', exists ? 'Y' : 'N'],
              ['Access', 'str', exists ? 'Y' : 'N'],
            ],
          ],
        };
      }, false),
      asccount: read(() => ({
        status: status('S', MSG.NUMASC, 'ASC count'),
        name: 'ASCS',
        rows: [[['Count', 'int', m.chains.length]]],
      })),
      asc: read((param) => {
        const id = this.ascIndex(param);
        if (typeof id !== 'number') return id;
        return { status: status('S', MSG.ASCDEV, `ASC${id}`), name: 'ASC', rows: [this.ascRow(m.chains[id])] };
      }, false),
      privileged: write(() => msgOnly('S', MSG.ACCOK, 'Privileged access OK')),
      switchpool: write((param) => {
        const id = this.poolIndex(param);
        if (typeof id !== 'number') return id;
        const p = m.pools.pools[id];
        if (p.health === 'disabled') m.pools.enable(p.id);
        m.pools.switchTo(p.id);
        return msgOnly('S', MSG.SWITCHP, `Switching to pool ${id}:'${url(id)}'`);
      }),
      enablepool: write((param) => {
        const id = this.poolIndex(param);
        if (typeof id !== 'number') return id;
        const p = m.pools.pools[id];
        if (p.health !== 'disabled') return msgOnly('I', MSG.ALRENAP, `Pool ${id}:'${url(id)}' already enabled`);
        m.pools.enable(p.id);
        return msgOnly('S', MSG.ENAPOOL, `Enabling pool ${id}:'${url(id)}'`);
      }),
      disablepool: write((param) => {
        const id = this.poolIndex(param);
        if (typeof id !== 'number') return id;
        const p = m.pools.pools[id];
        if (p.health === 'disabled') return msgOnly('I', MSG.ALRDISP, `Pool ${id}:'${url(id)}' already disabled`);
        if (m.pools.pools.filter((x) => x.health !== 'disabled').length <= 1) {
          return msgOnly('E', MSG.DISLASTP, `Cannot disable last active pool ${id}:'${url(id)}'`);
        }
        m.pools.disable(p.id);
        return msgOnly('S', MSG.DISPOOL, `Disabling pool ${id}:'${url(id)}'`);
      }),
      addpool: write((param) => {
        if (!param) return msgOnly('E', MSG.MISPDP, 'Missing addpool details');
        const [purl, user, pass] = splitEscaped(param);
        if (!purl || !user || pass === undefined) return msgOnly('E', MSG.INVPDP, `Invalid addpool details '${param}'`);
        if (m.pools.pools.length >= 16) return msgOnly('E', MSG.TOOMANYP, 'Reached maximum number of pools (16)');
        let cfg: ReturnType<typeof validateConfig>['pools'][number] | undefined;
        try {
          cfg = validateConfig(
            { ...m.config, pools: [{ url: purl, user, password: pass, priority: m.pools.pools.length }] },
            'addpool',
          ).pools[0];
        } catch {
          return msgOnly('E', MSG.INVPDP, `Invalid addpool details '${purl}'`);
        }
        m.pools.add(cfg);
        const i = m.pools.pools.length - 1;
        return msgOnly('S', MSG.ADDPOOL, `Added pool ${i}: '${purl}'`);
      }),
      removepool: write(async (param) => {
        const id = this.poolIndex(param);
        if (typeof id !== 'number') return id;
        const p = m.pools.pools[id];
        if (m.pools.pools.length <= 1) return msgOnly('E', MSG.REMLASTP, `Cannot remove last pool ${id}:'${url(id)}'`);
        if (m.pools.current === p) return msgOnly('E', MSG.ACTPOOL, `Cannot remove active pool ${id}:'${url(id)}'`);
        const u = url(id);
        await m.pools.remove(p.id);
        return msgOnly('S', MSG.REMPOOL, `Removed pool ${id}:'${u}'`);
      }),
      poolpriority: write((param) => {
        if (m.pools.pools.length === 0) return msgOnly('E', MSG.NOPOOL, 'No pools');
        if (!param) return msgOnly('E', MSG.MISPID, 'Missing pool id parameter');
        const ids = param.split(',').map((x) => Number.parseInt(x, 10));
        const n = m.pools.pools.length;
        const seen = new Set<number>();
        for (const i of ids) {
          if (!Number.isInteger(i) || i < 0 || i >= n)
            return msgOnly('E', MSG.INVPID, `Invalid pool id ${i} - range is 0 - ${n - 1}`);
          if (seen.has(i)) return msgOnly('E', MSG.DUPPID, `Duplicate pool specified ${i}`);
          seen.add(i);
        }
        const rest = m.pools.pools
          .map((_, i) => i)
          .filter((i) => !seen.has(i))
          .sort((a, b) => m.pools.pools[a].config.priority - m.pools.pools[b].config.priority);
        [...ids, ...rest].forEach((i, prio) => {
          m.pools.setPriority(m.pools.pools[i].id, prio);
        });
        return msgOnly('S', MSG.POOLPRIO, 'Changed pool priorities');
      }),
      poolquota: write((param) => {
        if (!param) return msgOnly('E', MSG.MISPID, 'Missing pool id parameter');
        const [idText, qText] = param.split(',');
        const id = this.poolIndex(idText);
        if (typeof id !== 'number') return id;
        if (qText === undefined || qText.trim() === '')
          return msgOnly('E', MSG.CONPAR, "Missing config parameters 'name,N'");
        const q = Number.parseInt(qText, 10);
        if (!Number.isInteger(q))
          return msgOnly('E', MSG.INVNUM, `Invalid number (${qText}) for 'quota' range is 0-9999`);
        if (q < 0) return msgOnly('E', MSG.INVNEG, `Invalid negative number (${q}) for '${url(id)}'`);
        m.pools.setQuota(m.pools.pools[id].id, q);
        return msgOnly('S', MSG.SETQUOTA, `Set pool '${url(id)}' to quota ${q}'`);
      }),
      restart: write(() => {
        void m.restart();
        return { status: [['STATUS', 'str', 'RESTART']] };
      }),
      quit: write(() => {
        // the daemon's own orderly stop: boards powered off, then exit
        setTimeout(() => process.kill(process.pid, 'SIGTERM'), 50);
        return { status: [['STATUS', 'str', 'BYE']] };
      }),
      ascidentify: write(async (param) => {
        const id = this.ascIndex(param);
        if (typeof id !== 'number') return id;
        await m.chains[id].locate(true);
        setTimeout(() => void m.chains[id].locate(false).catch(() => {}), 30_000).unref();
        return msgOnly('S', MSG.ASCIDENT, `Identify command sent to ASC${id}`);
      }),
      ascset: write(async (param) => {
        if (m.chains.length === 0) return msgOnly('E', MSG.ASCNON, 'No ASCs');
        if (!param) return msgOnly('E', MSG.MISID, 'Missing device id parameter');
        const [idText, opt, value] = param.split(',');
        if (!opt) return msgOnly('E', MSG.MISASCOPT, 'Missing option after ASC number');
        const id = this.ascIndex(idText);
        if (typeof id !== 'number') return id;
        if (opt === 'help')
          return msgOnly(
            'I',
            MSG.ASCSETINFO,
            `ASC ${id} set info: freq=MHz (${RATINGS.freqMinMHz}-${RATINGS.freqMaxMHz}), led=0|1|2`,
          );
        if (opt === 'freq') {
          const f = Number(value);
          if (!Number.isFinite(f) || f < RATINGS.freqMinMHz || f > RATINGS.freqMaxMHz) {
            return msgOnly(
              'E',
              MSG.ASCSETERR,
              `ASC ${id} set failed: freq must be ${RATINGS.freqMinMHz}-${RATINGS.freqMaxMHz}`,
            );
          }
          await m.chains[id].setFrequency(findPll(f).freqMHz);
          return msgOnly('S', MSG.ASCSETOK, `ASC ${id} set OK`);
        }
        if (opt === 'led') {
          const v = Number(value);
          if (v !== 0 && v !== 1 && v !== 2)
            return msgOnly('E', MSG.ASCSETERR, `ASC ${id} set failed: led must be 0, 1 or 2`);
          await m.chains[id].locate(v !== 0);
          return msgOnly('S', MSG.ASCSETOK, `ASC ${id} set OK`);
        }
        return msgOnly('E', MSG.ASCSETERR, `ASC ${id} set failed: unknown option '${opt}'`);
      }),
    };
  }
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/** cgminer's addpool splits on commas that are not escaped with a backslash. */
function splitEscaped(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) cur += s[++i];
    else if (s[i] === ',') {
      out.push(cur);
      cur = '';
    } else cur += s[i];
  }
  out.push(cur);
  return out;
}

function strategyName(s: string): string {
  return (
    {
      failover: 'Failover',
      'round-robin': 'Round Robin',
      rotate: 'Rotate',
      'load-balance': 'Load Balance',
      balance: 'Balance',
    }[s] ?? s
  );
}

function nbitsDifficulty(nbits: number): number {
  const exp = nbits >>> 24;
  const mant = nbits & 0xffffff;
  if (mant === 0) return 0;
  return (0xffff / mant) * 256 ** (0x1d - exp);
}
