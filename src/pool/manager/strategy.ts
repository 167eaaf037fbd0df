// Pool strategies with cgminer's meaning, as pure functions of what the manager knows (docs/pool-strategies.md).

export type Strategy = 'failover' | 'round-robin' | 'rotate' | 'load-balance' | 'balance';

export interface PoolView {
  id: number;
  /** position in the pool list */
  index: number;
  priority: number;
  quota: number;
  usable: boolean;
  /** how long it has been alive, or -1 */
  aliveForMs: number;
  /** accepted difficulty over the last 10 minutes */
  recentDifficulty: number;
}

export interface SelectContext {
  currentId: number | undefined;
  fallbackMs: number;
  /** rotate / round robin: index of the pool to prefer next */
  rotateIndex: number;
}

/** The pool that should be current; undefined when none is usable. */
export function selectPool(strategy: Strategy, pools: PoolView[], ctx: SelectContext): number | undefined {
  const usable = pools.filter((p) => p.usable);
  if (usable.length === 0) return undefined;
  const current = pools.find((p) => p.id === ctx.currentId);
  switch (strategy) {
    case 'failover': {
      const byPriority = [...usable].sort((a, b) => a.priority - b.priority || a.index - b.index);
      if (!current?.usable) return byPriority[0].id;
      // a pool better than the current one takes over only after it has stayed alive for fallback_time
      const better = byPriority.find(
        (p) =>
          (p.priority < current.priority || (p.priority === current.priority && p.index < current.index)) &&
          p.aliveForMs >= ctx.fallbackMs,
      );
      return better ? better.id : current.id;
    }
    case 'round-robin': {
      if (current?.usable) return current.id;
      return nextInOrder(pools, ctx.rotateIndex);
    }
    case 'rotate': {
      const want = pools[((ctx.rotateIndex % pools.length) + pools.length) % pools.length];
      if (want?.usable) return want.id;
      return nextInOrder(pools, ctx.rotateIndex);
    }
    case 'load-balance':
    case 'balance': {
      // work is spread per job; the "current" pool is the one shown to operators: the best by priority
      if (current?.usable) return current.id;
      return [...usable].sort((a, b) => a.priority - b.priority || a.index - b.index)[0].id;
    }
  }
}

/** The first usable pool in list order at or after `from` (cyclic). */
function nextInOrder(pools: PoolView[], from: number): number | undefined {
  const n = pools.length;
  for (let k = 0; k < n; k++) {
    const p = pools[(((from + k) % n) + n) % n];
    if (p.usable) return p.id;
  }
  return undefined;
}

/**
 * Load balance as a deficit: the pool whose verified hashes, divided by its quota, are the fewest gets the next work.
 * Work is charged as the chips return it, so boards of different speed and slices cut short by new blocks are counted
 * as what they were; over a run the hashes match the quotas to within the work in flight. Ties go to the earlier pool.
 */
export function leastServed<T extends { lbHashes: number; config: { quota: number } }>(items: T[]): T | undefined {
  let best: T | undefined;
  let bestLoad = Number.POSITIVE_INFINITY;
  for (const it of items) {
    if (!(it.config.quota > 0)) continue;
    const load = it.lbHashes / it.config.quota;
    if (load < bestLoad) {
      best = it;
      bestLoad = load;
    }
  }
  return best;
}
