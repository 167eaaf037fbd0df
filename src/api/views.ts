import type { ChainController } from '../chain/controller.js';
import { versionRollingStatus } from '../chain/feed-estimate.js';
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
    /** POWER_EN as the supervisor last read it */
    powered: r.powerOn,
    holds: Object.fromEntries(c.sm.holds),
    safety: c.safety(),
    feed: feedView(c),
  };
}

/** How well the board's chips are kept in work at their real speed (feed-estimate.ts). */
export function feedView(c: ChainController) {
  const f = c.feedStatus();
  return {
    idleShare: f.idleShare,
    reachableShare: f.reachableShare,
    walkMs: finite(f.walkMs),
    refreshMs: f.refreshMs,
    uartMsPerJob: f.uartMsPerJob,
    workGenMs: f.workGenMs,
  };
}

/** `asked`: the `[pool] version_rolling` setting — whether the daemon asks pools for version rolling at all. */
export function poolVersionRolling(p: PoolEntry, asked: boolean) {
  return versionRollingStatus(asked, p.client.state === 'ready', p.client.versionMask);
}

/** A board is fine mining, or held off on purpose (an operator's pause, no usable pool). */
const BOARD_OK = new Set(['mining', 'paused', 'idle']);

/**
 * /health: every component with its state; the whole is 'ok' only when every component is (or 'paused' when the
 * operator paused mining and nothing else is wrong).
 */
export function healthView(m: Miner) {
  const components = [
    ...m.chains.map((c) => {
      const safety = c.safety();
      return {
        name: c.name,
        state: c.state,
        reason: c.stateReason,
        ok: BOARD_OK.has(c.state) && !safety.escalated,
        safety,
      };
    }),
    ...m.pools.pools.map((p) => ({
      name: `pool${p.id}`,
      state: p.health,
      ok: p.health === 'alive' || p.health === 'disabled',
    })),
    {
      name: 'fans',
      state: m.fans.health.problem ? 'no-airflow' : m.fans.failed.size ? 'failed' : 'ok',
      reason: m.fans.health.problem ?? (m.fans.failed.size ? `fan ${[...m.fans.failed].join(', ')} failed` : ''),
      ok: m.fans.failed.size === 0 && !m.fans.health.problem,
    },
    { name: 'supervisor', state: m.supervisor.healthy ? 'ok' : 'stalled', ok: m.supervisor.healthy },
  ];
  const allOk = components.every((x) => x.ok) && m.pools.current !== undefined;
  const mining = m.chains.some((c) => c.state === 'mining');
  const status = allOk && mining ? 'ok' : allOk && m.paused ? 'paused' : 'degraded';
  return { status, components };
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

export function poolView(p: PoolEntry, current: boolean, versionRollingAsked: boolean) {
  const s = p.stats;
  const y = p.shareYield.verdict(p.pending);
  return {
    pool: p.id,
    url: p.config.url,
    user: p.config.user,
    priority: p.config.priority,
    quota: p.config.quota,
    enabled: p.config.enabled,
    status: p.health,
    statusReason: p.health === 'rejecting' ? p.rejectingReason : '',
    current,
    connection: p.client.state,
    lastError: p.client.lastError,
    difficulty: p.client.difficulty,
    versionMask: p.client.versionMask.toString(16).padStart(8, '0'),
    versionRolling: poolVersionRolling(p, versionRollingAsked),
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
    /** last 10 minutes: shares accepted against those the work done for the pool should have produced */
    shareYield: { accepted: y.accepted, expected: Number(y.expected.toFixed(2)) },
  };
}

export function poolsView(m: Miner) {
  return m.pools.pools.map((p) => poolView(p, m.pools.current === p, m.pools.poolSettings.version_rolling));
}

function finite(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

export function fansView(m: Miner) {
  const f = m.fans;
  return {
    pwm: f.pwm,
    failed: [...f.failed],
    noAirflow: f.noAirflow,
    fans: f.readings.map((r) => ({ fan: r.fan, rpm: r.rpm, pwm: r.pwm, failed: f.failed.has(r.fan) })),
  };
}
