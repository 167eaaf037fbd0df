// The whole miner's power (or hash rate) target shared across its boards: equal shares among the boards that can
// take one; a board the safety supervisor holds off, or that is not mining, gets none, and a board that cannot use
// its share (it reaches its limit below it) hands the rest to the others.

export interface BoardCapacity {
  /** the board can take a share (mining, not held off) */
  available: boolean;
  /** the most this board can use, when known (measured at its highest voltage), else unbounded */
  maxShare?: number;
}

export function splitTarget(total: number, boards: BoardCapacity[]): number[] {
  const share = boards.map(() => 0);
  let open = boards.map((b, i) => (b.available ? i : -1)).filter((i) => i >= 0);
  let left = total;
  // water-filling: boards capped below an equal share take their cap; the rest share what is left
  while (open.length > 0 && left > 0) {
    const each = left / open.length;
    const capped = open.filter((i) => (boards[i].maxShare ?? Number.POSITIVE_INFINITY) < each);
    if (capped.length === 0) {
      for (const i of open) share[i] = each;
      break;
    }
    for (const i of capped) {
      share[i] = boards[i].maxShare ?? 0;
      left -= share[i];
    }
    open = open.filter((i) => !capped.includes(i));
  }
  return share;
}

/**
 * Whether a board takes a share of the miner's target: mining, or coming up (powered on moments ago, not held). A
 * board still coming up keeps its share: boards come up one by one after a start, and the first one up would
 * otherwise see the whole miner's target as its own, match no stored profile (each is saved for the board's share)
 * and start a fresh tune. A lost, held, paused or idle board hands its share to the others.
 */
export function takesShare(state: string, held: boolean): boolean {
  return !held && (state === 'mining' || state === 'bringup' || state === 'init');
}
