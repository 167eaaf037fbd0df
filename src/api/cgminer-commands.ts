import { validateConfig } from '../config/load.js';
import type { Miner } from '../miner.js';
import { VERSION } from '../version.js';
import type { Field, Reply, Section } from './cgminer-format.js';
import { API_VERSION, MSG, msgOnly, status } from './cgminer-proto.js';
import { antminerRows, ascIndex, ascRow, finiteOr0, poolIndex, poolRow, summaryRow } from './cgminer-rows.js';
import { poolVersionRolling } from './views.js';

// The cgminer API's commands (cgminer 4.13.6, API 3.7): one entry a command, saying whether it needs W: access,
// whether it may be joined with `+`, and what it answers.

export interface Caller {
  /** the client's address has W: access */
  write: boolean;
}

export interface Command {
  privileged: boolean;
  joinable: boolean;
  /** the reply depends on the parameter (a read-only report is then made and reused per parameter) */
  usesParam: boolean;
  run: (param: string | undefined, caller: Caller) => Reply | Promise<Reply>;
}

/** The tuner's view of one board, as STATS fields: mode, stage, target and each chip's frequency. */
function tuningFields(m: Miner, board: number): Field[] {
  const b = m.tuner.boards()[board];
  const freqs: number[] = b?.chain.chipMHz ?? [];
  const t = b?.tuner;
  const target = t?.targets.capW ?? t?.targets.powerW ?? 0;
  return [
    ['Tuning Mode', 'str', m.tuner.mode],
    ['Tuning Stage', 'str', t?.stage ?? (m.tuner.mode === 'off' ? 'off' : 'waiting')],
    ['Tuning Power Target', 'double', target],
    ['Frequency Avg', 'double', freqs.length ? freqs.reduce((a, f) => a + f, 0) / freqs.length : 0],
    ['Chip Frequencies', 'str', freqs.map((f) => f.toFixed(2)).join(' ')],
  ];
}

export function commandTable(m: Miner): Record<string, Command> {
  const commands: Record<string, Command> = {};
  const read = (run: Command['run'], joinable = true, usesParam = false): Command => ({
    privileged: false,
    joinable,
    usesParam,
    run,
  });
  const write = (run: Command['run']): Command => ({ privileged: true, joinable: false, usesParam: true, run });
  const url = (i: number) => m.pools.pools[i]?.config.url ?? '';
  const devs = (): Reply =>
    m.chains.length === 0
      ? msgOnly('E', MSG.NODEVS, 'No ASCs')
      : {
          status: status('S', MSG.DEVS, `${m.chains.length} ASC(s)`),
          name: 'DEVS',
          rows: m.chains.map((c) => ascRow(c)),
        };
  const stats = (withPools: boolean): Reply => {
    // bmminer's layout first (a version row, then one row of fan/temp/chain fields farm tools parse), then ours
    const rows: Section[] = withPools ? antminerRows(m) : [];
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
        ['State', 'str', c.state],
        ['Powered', 'bool', c.readings.powerOn],
        ['Faults', 'int', c.readings.faults],
        ['Safety Hold', 'str', c.safety().hold ?? ''],
        ['Power Off Failures', 'int', c.safety().powerOffFailures],
        ['Watchdog Escalated', 'bool', c.safety().escalated],
        ...tuningFields(m, c.index),
        ['Idle Share', 'double', c.feedStatus().idleShare],
        // the pool rows keep cgminer's fields exactly: the grant of the pool this board mines on is told here
        [
          'Pool Version Rolling',
          'str',
          m.pools.current ? poolVersionRolling(m.pools.current, m.pools.poolSettings.version_rolling) : '',
        ],
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
          // cgminer counts every line sent (configure, subscribe, authorize, submits) and the bytes each way;
          // Stratum is not compressed, so the bytes on the wire are the same (its Net Bytes)
          ['Times Sent', 'int', p.client.counters.linesOut],
          ['Bytes Sent', 'int', p.client.counters.bytesSent],
          ['Times Recv', 'int', p.client.counters.linesIn],
          ['Bytes Recv', 'int', p.client.counters.bytesRecv],
          ['Net Bytes Sent', 'int', p.client.counters.bytesSent],
          ['Net Bytes Recv', 'int', p.client.counters.bytesRecv],
        ]);
      });
    }
    return { status: status('S', MSG.MINESTATS, 'CGMiner stats'), name: 'STATS', rows };
  };
  return Object.assign(commands, {
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
    summary: read(() => ({ status: status('S', MSG.SUMM, 'Summary'), name: 'SUMMARY', rows: [summaryRow(m)] })),
    devs: read(devs),
    edevs: read(devs),
    pools: read(() =>
      m.pools.pools.length === 0
        ? msgOnly('E', MSG.NOPOOL, 'No pools')
        : {
            status: status('S', MSG.POOL, `${m.pools.pools.length} Pool(s)`),
            name: 'POOLS',
            rows: m.pools.pools.map((_, i) => poolRow(m, i)),
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
    check: read(
      (param, caller) => {
        if (!param) return msgOnly('E', MSG.MISCHK, 'Missing check cmd');
        const cmd = Object.hasOwn(commands, param) ? commands[param] : undefined;
        return {
          status: status('S', MSG.CHECK, 'Check command'),
          name: 'CHECK',
          rows: [
            [
              ['Exists', 'str', cmd ? 'Y' : 'N'],
              // cgminer: Access=Y only where this client may run it
              ['Access', 'str', cmd && (!cmd.privileged || caller.write) ? 'Y' : 'N'],
            ],
          ],
        };
      },
      false,
      true,
    ),
    asccount: read(() => ({
      status: status('S', MSG.NUMASC, 'ASC count'),
      name: 'ASCS',
      rows: [[['Count', 'int', m.chains.length]]],
    })),
    asc: read(
      (param) => {
        const id = ascIndex(m, param);
        if (typeof id !== 'number') return id;
        return { status: status('S', MSG.ASCDEV, `ASC${id}`), name: 'ASC', rows: [ascRow(m.chains[id])] };
      },
      false,
      true,
    ),
    privileged: write(() => msgOnly('S', MSG.ACCOK, 'Privileged access OK')),
    fans: read(() => ({
      status: status('S', MSG.FANS, `${m.fans.readings.length} Fan(s)`),
      name: 'FANS',
      rows: m.fans.readings.map((f, i) => [
        ['FAN', 'int', i],
        ['ID', 'int', f.fan],
        ['RPM', 'int', f.rpm],
        ['Speed', 'int', Math.round((f.pwm / 255) * 100)],
      ]),
    })),
    temps: read(() => ({
      status: status('S', MSG.TEMPS, `${m.chains.length} Temp(s)`),
      name: 'TEMPS',
      rows: m.chains.map((c) => [
        ['TEMPS', 'int', c.index],
        ['ID', 'int', c.index],
        ['Board', 'temp', finiteOr0(c.readings.outletC)],
        ['Chip', 'temp', finiteOr0(c.readings.maxChipC)],
        ['Inlet', 'temp', finiteOr0(c.readings.inletC)],
        ['Outlet', 'temp', finiteOr0(c.readings.outletC)],
      ]),
    })),
    ascenable: write(async (param) => {
      const id = ascIndex(m, param);
      if (typeof id !== 'number') return id;
      const c = m.chains[id];
      if (c.state !== 'paused') return msgOnly('I', MSG.ASCLRENA, `ASC ${id} already enabled`);
      await c.resume();
      return msgOnly('I', MSG.ASCENA, `ASC ${id} sent enable message`);
    }),
    ascdisable: write(async (param) => {
      const id = ascIndex(m, param);
      if (typeof id !== 'number') return id;
      const c = m.chains[id];
      if (c.state === 'paused') return msgOnly('I', MSG.ASCLRDIS, `ASC ${id} already disabled`);
      await c.pause();
      return msgOnly('I', MSG.ASCDIS, `ASC ${id} set disable flag`);
    }),
    zero: write((param) => {
      if (!param) return msgOnly('E', MSG.ZERMIS, 'Missing zero parameters');
      const [what, sum] = param.split(',').map((x) => x.trim().toLowerCase());
      if (what !== 'all' && what !== 'bestshare') return msgOnly('E', MSG.ZERINV, `Invalid zero parameter '${what}'`);
      m.zeroStats(what);
      return sum === 'true'
        ? { ...stats(false), status: status('S', MSG.ZERSUM, `Zeroed ${what} stats with summary`) }
        : msgOnly('S', MSG.ZERNOSUM, `Zeroed ${what} stats without summary`);
    }),
    save: write((param) => {
      const file = m.store.file;
      // cgminer writes any file named; a remote client choosing a path to write is not something we allow
      if (!file || (param && param !== file))
        return msgOnly('E', MSG.BADFN, `Can't open or create save file '${param ?? ''}'`);
      m.store.save();
      return msgOnly('S', MSG.SAVED, `Configuration saved to file '${file}'`);
    }),
    'failover-only': write((param) => {
      if (!param) return msgOnly('E', MSG.MISBOOL, 'Missing parameter: true/false');
      const v = param.trim().toLowerCase();
      if (v !== 'true' && v !== 'false') return msgOnly('E', MSG.INVBOOL, 'Invalid parameter should be true or false');
      // with failover, backup pools get no work while the primary is alive: cgminer's failover-only
      if (v === 'true' && m.pools.strategy !== 'failover')
        m.pools.setStrategy({ ...m.pools.poolSettings, strategy: 'failover' });
      return msgOnly('S', MSG.FOO, `Failover-Only set to ${v}`);
    }),
    switchpool: write((param) => {
      const id = poolIndex(m, param);
      if (typeof id !== 'number') return id;
      const p = m.pools.pools[id];
      if (p.health === 'disabled') m.pools.enable(p.id);
      m.pools.switchTo(p.id);
      return msgOnly('S', MSG.SWITCHP, `Switching to pool ${id}:'${url(id)}'`);
    }),
    enablepool: write((param) => {
      const id = poolIndex(m, param);
      if (typeof id !== 'number') return id;
      const p = m.pools.pools[id];
      if (p.health !== 'disabled') return msgOnly('I', MSG.ALRENAP, `Pool ${id}:'${url(id)}' already enabled`);
      m.pools.enable(p.id);
      return msgOnly('S', MSG.ENAPOOL, `Enabling pool ${id}:'${url(id)}'`);
    }),
    disablepool: write((param) => {
      const id = poolIndex(m, param);
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
      const id = poolIndex(m, param);
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
      const id = poolIndex(m, idText);
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
      const id = ascIndex(m, param);
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
      const id = ascIndex(m, idText);
      if (typeof id !== 'number') return id;
      if (opt === 'help')
        return msgOnly('I', MSG.ASCSETINFO, `ASC ${id} set info: freq=MHz (${m.frequencyRange()}), led=0|1|2`);
      if (opt === 'freq') {
        const f = Number(value);
        const problem = m.frequencyProblem(f);
        if (problem) return msgOnly('E', MSG.ASCSETERR, `ASC ${id} set failed: ${problem}`);
        // the tuner owns the frequencies while it runs: a one-off ascset would be undone at its next step
        if (m.tuner.mode !== 'off')
          return msgOnly(
            'E',
            MSG.ASCSETERR,
            `ASC ${id} set failed: auto-tuning is on (mode ${m.tuner.mode}); set [tuning] mode = off or PUT /api/v1/tuning first`,
          );
        await m.setBoardFrequency(id, f);
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
  } satisfies Record<string, Command>);
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
