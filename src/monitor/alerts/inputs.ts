import { boardView, poolsView } from '../../api/views.js';
import type { Miner } from '../../miner.js';

/**
 * What the alert rules read, taken from the same read-only views REST serves, so the rules follow the miner's
 * state however its owners keep it. Nothing here changes the miner.
 */
export interface AlertInputs {
  boards: {
    board: number;
    /** 'mining', 'lost', 'cooling' (powered off for safety), … */
    state: string;
    reason: string;
    /** why the safety supervisor holds the board powered off (null: it does not) */
    safetyHold: string | null;
    maxChipC: number | null;
    /** hottest PCB sensor (inlet or outlet) */
    boardC: number | null;
    hashrateHs: number;
    idealHashrateHs: number;
  }[];
  pools: { pool: number; url: string; enabled: boolean; status: string; current: boolean; lastError: string }[];
  fans: { fan: number; rpm: number; failed: boolean }[];
  /** per-board tuner outcome; empty until a tuner reports one */
  tuner: { board: number; failed: boolean; reason: string }[];
}

export function readAlertInputs(miner: Miner): AlertInputs {
  return {
    boards: miner.chains.map((c) => {
      const v = boardView(c);
      const pcb = [v.temperatures.inletC, v.temperatures.outletC].filter((x): x is number => x !== null);
      return {
        board: v.board,
        state: v.state,
        reason: v.stateReason,
        safetyHold: v.safety.hold,
        maxChipC: v.temperatures.maxChipC,
        boardC: pcb.length ? Math.max(...pcb) : null,
        hashrateHs: v.hashrate.h1m,
        idealHashrateHs: v.idealHashrateHs,
      };
    }),
    pools: poolsView(miner).map((p) => ({
      pool: p.pool,
      url: p.url,
      enabled: p.enabled,
      status: p.status,
      current: p.current,
      lastError: p.lastError,
    })),
    fans: miner.fans.readings.map((f) => ({ fan: f.fan, rpm: f.rpm, failed: miner.fans.failed.has(f.fan) })),
    tuner: miner.tuner.failures(),
  };
}
