import type { Miner } from '../miner.js';

/** The retained state messages: small JSON documents, one per topic, made from the miner's summary and views. */
export function summaryPayload(miner: Miner) {
  const s = miner.summary();
  const temps = miner.chains.map((c) => c.readings.maxChipC).filter((x) => Number.isFinite(x));
  return {
    hashrateHs: s.hashrate.h1m,
    hashrate15mHs: s.hashrate.h15m,
    idealHashrateHs: s.idealHashrateHs,
    powerW: s.powerW,
    jPerTh: round(s.jPerTh, 2),
    accepted: s.accepted,
    rejected: s.rejected,
    stale: s.stale,
    hwErrors: s.hwErrors,
    bestShare: s.bestShare,
    uptimeS: s.uptimeS,
    pool: s.pool ?? null,
    maxChipC: temps.length ? round(Math.max(...temps), 1) : null,
    mining: !miner.paused,
    boardsMining: miner.chains.filter((c) => c.state === 'mining').length,
    alertsFiring: miner.alerts.active().length,
  };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
