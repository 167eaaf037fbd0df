import type { ChainController } from '../chain/controller.js';
import type { Miner } from '../miner.js';
import type { PoolEntry } from '../pool/manager/manager.js';

// Read-only views of the miner's state, shared by REST, WebSocket and the cgminer API. Secrets never appear here.

export function boardView(c: ChainController) {
  const r = c.readings;
  const chips = c.chips;
  return {
    board: c.index,
    state: c.state,
    stateReason: c.stateReason,
    boardId: c.info.boardId,
    fwVersion: c.info.fwVersion,
    uart: c.config.uart,
    spi: c.config.spi,
    chips: chips.length,
    chipsExpected: c.config.chips,
    brokenAt: c.brokenAt ?? null,
    frequencyMHz: c.freqMHz,
    wantedFrequencyMHz: c.wantMHz,
    throttled: c.throttleMHz !== undefined,
    throttleSteps: c.counters.throttleSteps,
    voltageMv: r.voltageMv || c.voltageMv,
    powerW: r.powerW,
    temperatures: {
      inletC: finite(r.inletC),
      outletC: finite(r.outletC),
      chipsC: r.tempsC.map(finite),
      maxChipC: finite(r.maxChipC),
    },
    hashrate: c.meter.windows(),
    idealHashrateHs: c.idealHashrateHs,
    ticketZeros: c.ticket,
    hwErrors: c.counters.hwErrors,
    staleNonces: c.counters.staleNonces,
    crcErrors: c.linkCounters.crcErrors,
    lostReplies: c.counters.noncesLost,
    silentChips: chips.filter((x) => x.silent).length,
    sharesFound: c.counters.sharesFound,
    bestShare: c.counters.bestShare,
    faults: r.faults,
  };
}

export function chipViews(c: ChainController) {
  return c.chips.map((x) => ({
    chip: x.index,
    address: x.address,
    nonces: x.nonces,
    hwErrors: x.hwErrors,
    stale: x.stale,
    lostReplies: x.lost,
    silent: x.silent,
    lastNonceMs: x.lastNonceMs,
    hashrateHs: x.meter.rate(300),
  }));
}

export function poolView(p: PoolEntry, current: boolean) {
  const s = p.stats;
  return {
    pool: p.id,
    url: p.config.url,
    user: p.config.user,
    priority: p.config.priority,
    quota: p.config.quota,
    enabled: p.config.enabled,
    status: p.health,
    current,
    connection: p.client.state,
    lastError: p.client.lastError,
    difficulty: p.client.difficulty,
    versionMask: p.client.versionMask.toString(16).padStart(8, '0'),
    accepted: s.accepted,
    rejected: s.rejected,
    stale: s.stale,
    lost: s.lost,
    acceptedDifficulty: s.acceptedDifficulty,
    rejectedDifficulty: s.rejectedDifficulty,
    staleDifficulty: s.staleDifficulty,
    bestShare: s.bestShare,
    lastShareMs: s.lastShareMs,
    lastLatencyMs: s.lastLatencyMs,
    rejectReasons: s.rejectReasons,
  };
}

export function poolsView(m: Miner) {
  return m.pools.pools.map((p) => poolView(p, m.pools.current === p));
}

function finite(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}
