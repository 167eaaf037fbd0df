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
 * Smooth weighted round robin (as nginx): each pick adds every weight to its pool's counter, takes the largest and
 * subtracts the total from it. Over any run of picks the shares match the quotas as closely as integers allow.
 */
export function weightedPick<T extends { swrr: number; config: { quota: number } }>(items: T[]): T | undefined {
  let total = 0;
  let best: T | undefined;
  for (const it of items) {
    it.swrr += it.config.quota;
    total += it.config.quota;
    if (!best || it.swrr > best.swrr) best = it;
  }
  if (best) best.swrr -= total;
  return best;
}
