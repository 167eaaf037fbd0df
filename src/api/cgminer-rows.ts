import type { ChainController } from '../chain/controller.js';
import type { Miner } from '../miner.js';
import { VERSION } from '../version.js';
import type { Reply, Section } from './cgminer-format.js';
import { MSG, msgOnly } from './cgminer-proto.js';

// The rows of cgminer's reports (api.c ascstatus, poolstatus, summary), from the miner's state.

export function ascRow(c: ChainController): Section {
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

export function poolRow(m: Miner, i: number): Section {
  const p = m.pools.pools[i];
  const s = p.stats;
  const total = s.acceptedDifficulty + s.rejectedDifficulty + s.staleDifficulty;
  const status =
    p.health === 'alive' ? 'Alive' : p.health === 'dead' ? 'Dead' : p.health === 'disabled' ? 'Disabled' : 'Rejecting';
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
    ['Current Block Height', 'int', blockHeight(p.client.currentJob?.coinb1)],
    ['Current Block Version', 'int', p.client.currentJob?.version ?? 0],
  ];
}

export function summaryRow(m: Miner): Section {
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

export function poolIndex(m: Miner, param: string | undefined): number | Reply {
  const n = m.pools.pools.length;
  if (n === 0) return msgOnly('E', MSG.NOPOOL, 'No pools');
  if (param === undefined || param.trim() === '') return msgOnly('E', MSG.MISPID, 'Missing pool id parameter');
  const id = Number.parseInt(param, 10);
  if (!Number.isInteger(id) || id < 0 || id >= n)
    return msgOnly('E', MSG.INVPID, `Invalid pool id ${Number.isNaN(id) ? param : id} - range is 0 - ${n - 1}`);
  return id;
}

export function ascIndex(m: Miner, param: string | undefined): number | Reply {
  const n = m.chains.length;
  if (n === 0) return msgOnly('E', MSG.ASCNON, 'No ASCs');
  if (param === undefined || param.trim() === '') return msgOnly('E', MSG.MISID, 'Missing device id parameter');
  const id = Number.parseInt(param, 10);
  if (!Number.isInteger(id) || id < 0 || id >= n)
    return msgOnly('E', MSG.INVASC, `Invalid ASC id ${Number.isNaN(id) ? param : id} - range is 0 - ${n - 1}`);
  return id;
}

export function finiteOr0(n: number): number {
  return Number.isFinite(n) ? n : 0;
}

/**
 * The block height from a job's first coinbase part (BIP34: the coinbase script starts with the height, pushed as
 * a little-endian number): version 4, input count 1, previous output 36, script length, then the push.
 */
export function blockHeight(coinb1: Buffer | undefined): number {
  if (!coinb1 || coinb1.length < 43) return 0;
  const n = coinb1[42];
  if (n < 1 || n > 8 || coinb1.length < 43 + n) return 0;
  let h = 0;
  for (let i = n - 1; i >= 0; i--) h = h * 256 + coinb1[43 + i];
  return h;
}

/**
 * bmminer's (Antminer) stats layout, which farm tools read: STATS[0] names the firmware, STATS[1] carries fan1…N,
 * temp1…N (board), temp2_N (chip), temp_chipN, chain_acnN (chips), chain_rateN (GH/s), chain_hwN, freq_avgN and totals.
 */
export function antminerRows(m: Miner): Section[] {
  const s = m.summary();
  const fans = m.fans.readings;
  const row: Section = [
    ['STATS', 'int', 1],
    ['ID', 'str', 'L7'], // the whole miner; each board's own row is L7<board>
    ['Elapsed', 'int', s.uptimeS],
    ['Calls', 'int', 0],
    ['Wait', 'timeval', 0],
    ['Max', 'timeval', 0],
    ['Min', 'timeval', 99999999],
    ['GHS 5s', 'mhs', s.hashrate.h5s / 1e9],
    ['GHS av', 'mhs', s.hashrate.avg / 1e9],
    ['miner_count', 'int', m.chains.length],
    ['frequency', 'str', String(Math.round(m.chains[0]?.freqMHz ?? 0))],
    ['fan_num', 'int', fans.length],
  ];
  fans.forEach((f, i) => {
    row.push([`fan${i + 1}`, 'int', f.rpm]);
  });
  row.push(['temp_num', 'int', m.chains.length]);
  for (const c of m.chains) row.push([`temp${c.index + 1}`, 'int', Math.round(finiteOr0(c.readings.outletC))]);
  for (const c of m.chains) row.push([`temp2_${c.index + 1}`, 'int', Math.round(finiteOr0(c.readings.maxChipC))]);
  for (const c of m.chains) row.push([`temp_chip${c.index + 1}`, 'str', chipTemps(c)]);
  for (const c of m.chains) row.push([`temp_pcb${c.index + 1}`, 'str', pcbTemps(c)]);
  for (const c of m.chains) row.push([`chain_acn${c.index + 1}`, 'int', c.chips.length]);
  for (const c of m.chains)
    row.push([`chain_acs${c.index + 1}`, 'str', c.chips.map((x) => (x.silent ? 'x' : 'o')).join('')]);
  for (const c of m.chains) row.push([`chain_hw${c.index + 1}`, 'int', c.counters.hwErrors]);
  for (const c of m.chains) row.push([`chain_rate${c.index + 1}`, 'str', (c.meter.windows().h5s / 1e9).toFixed(2)]);
  for (const c of m.chains) row.push([`chain_rateideal${c.index + 1}`, 'double', c.idealHashrateHs / 1e9]);
  for (const c of m.chains) row.push([`freq_avg${c.index + 1}`, 'int', Math.round(c.freqMHz)]);
  for (const c of m.chains)
    row.push([`chain_consumption${c.index + 1}`, 'int', Math.round(finiteOr0(c.readings.powerW))]);
  const temps = m.chains.map((c) => c.readings.maxChipC).filter(Number.isFinite);
  row.push(
    ['total_rateideal', 'double', s.idealHashrateHs / 1e9],
    ['total_freqavg', 'double', m.chains.length ? m.chains.reduce((a, c) => a + c.freqMHz, 0) / m.chains.length : 0],
    ['total_acn', 'int', m.chains.reduce((a, c) => a + c.chips.length, 0)],
    ['total_rate', 'double', s.hashrate.h5s / 1e9],
    ['temp_max', 'int', Math.round(temps.length ? Math.max(...temps) : 0)],
    ['Device Hardware%', 'percent', s.hwErrors + s.nonces > 0 ? (s.hwErrors / (s.hwErrors + s.nonces)) * 100 : 0],
    ['no_matching_work', 'int', s.hwErrors],
  );
  return [
    [
      ['BMMiner', 'str', VERSION],
      ['Miner', 'str', `asicd ${VERSION}`],
      ['CompileTime', 'str', ''],
      ['Type', 'str', 'Maijie L7'],
    ],
    row,
  ];
}

function chipTemps(c: ChainController): string {
  const t = c.readings.tempsC.filter(Number.isFinite).map((x) => Math.round(x));
  return t.join('-');
}

function pcbTemps(c: ChainController): string {
  return [c.readings.inletC, c.readings.outletC]
    .filter(Number.isFinite)
    .map((x) => Math.round(x))
    .join('-');
}
