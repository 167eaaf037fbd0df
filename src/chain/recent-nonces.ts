/**
 * The last nonces a board verified, to catch a chip repeating one. Bounded by count, not by the jobs in flight: a set
 * of every nonce of every job slot grew to tens of MB at high nonce rates (a slot lives up to 16 dispatches of 20 s).
 * A repeat older than the window is verified and counted again; a repeated share never reaches the pool either way
 * (each slot keeps its shares exactly).
 *
 * The keys (52-bit integers) live in typed arrays: a ring in arrival order and an open-addressed hash table (linear
 * probing, at most half full). A Set of them held each key as a heap number, ~50 bytes a key that survived into the
 * old generation and left it as garbage when the ring moved on: 3 boards × 4096 keys were ~0.7 MB of heap and a
 * steady stream of promotions for the collector.
 */
export class RecentNonces {
  private readonly ring: Float64Array;
  private readonly table: Float64Array;
  private readonly mask: number;
  private readonly shift: number;
  private next = 0;
  private count = 0;

  constructor(private readonly capacity = 4096) {
    this.ring = new Float64Array(capacity).fill(EMPTY);
    let bits = 4;
    while (2 ** bits < capacity * 2) bits++;
    this.table = new Float64Array(2 ** bits).fill(EMPTY);
    this.mask = 2 ** bits - 1;
    this.shift = 32 - bits;
  }

  /** `slot` (0–15) and the nonce key (48 bits) as one exact integer. */
  static key(slot: number, nonceKey: number): number {
    return slot * 2 ** 48 + nonceKey;
  }

  has(key: number): boolean {
    return this.find(key) >= 0;
  }

  add(key: number): void {
    const old = this.ring[this.next];
    if (old !== EMPTY) this.remove(old);
    this.ring[this.next] = key;
    this.next = (this.next + 1) % this.capacity;
    let i = this.home(key);
    while (this.table[i] !== EMPTY) {
      if (this.table[i] === key) return; // already there (the caller checks first; kept exact anyway)
      i = (i + 1) & this.mask;
    }
    this.table[i] = key;
    this.count++;
  }

  clear(): void {
    this.table.fill(EMPTY);
    this.ring.fill(EMPTY);
    this.next = 0;
    this.count = 0;
  }

  get size(): number {
    return this.count;
  }

  private home(key: number): number {
    // low and high 32 bits of the (at most 52-bit) key, mixed
    const lo = key >>> 0;
    const hi = (key / 2 ** 32) >>> 0;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
  }

  private find(key: number): number {
    let i = this.home(key);
    for (;;) {
      const k = this.table[i];
      if (k === key) return i;
      if (k === EMPTY) return -1;
      i = (i + 1) & this.mask;
    }
  }

  /** Deletes by shifting later entries of the probe run back, so no tombstones pile up. */
  private remove(key: number): void {
    let i = this.find(key);
    if (i < 0) return;
    this.count--;
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      const k = this.table[j];
      if (k === EMPTY) break;
      const h = this.home(k);
      // k may move to i when its home is not cyclically within (i, j]
      if (i <= j ? h <= i || h > j : h <= i && h > j) {
        this.table[i] = k;
        i = j;
      }
    }
    this.table[i] = EMPTY;
  }
}

const EMPTY = -1;
