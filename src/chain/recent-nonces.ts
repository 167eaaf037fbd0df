/**
 * The last nonces a board verified, to catch a chip repeating one. Bounded by count, not by the jobs in flight: a set
 * of every nonce of every job slot grew to tens of MB at high nonce rates (a slot lives up to 16 dispatches of 20 s).
 * A repeat older than the window is verified and counted again; a repeated share never reaches the pool either way
 * (each slot keeps its shares exactly).
 */
export class RecentNonces {
  private readonly ring: Float64Array;
  private readonly set = new Set<number>();
  private next = 0;

  constructor(private readonly capacity = 4096) {
    this.ring = new Float64Array(capacity).fill(-1);
  }

  /** `slot` (0–15) and the nonce key (48 bits) as one exact integer. */
  static key(slot: number, nonceKey: number): number {
    return slot * 2 ** 48 + nonceKey;
  }

  has(key: number): boolean {
    return this.set.has(key);
  }

  add(key: number): void {
    const old = this.ring[this.next];
    if (old >= 0) this.set.delete(old);
    this.ring[this.next] = key;
    this.set.add(key);
    this.next = (this.next + 1) % this.capacity;
  }

  clear(): void {
    this.set.clear();
    this.ring.fill(-1);
    this.next = 0;
  }

  get size(): number {
    return this.set.size;
  }
}
