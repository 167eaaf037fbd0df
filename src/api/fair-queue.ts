/**
 * Turns handed out one per event-loop turn, round robin over keys (client addresses): however many requests one
 * address queues, every other address gets a turn between two of its, and timers (the nonce path, the safety loop)
 * run between any two. Waiting is bounded by the callers (a connection's lifetime), so the queue holds no more
 * than the open connections' requests.
 */
export class FairQueue {
  private readonly waiting = new Map<string, (() => void)[]>();
  private scheduled = false;

  /** Resolves when `key` is served. */
  turn(key: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const list = this.waiting.get(key);
      if (list) list.push(resolve);
      else this.waiting.set(key, [resolve]);
      this.schedule();
    });
  }

  /** Drops every waiter (at stop; their connections are closed). */
  clear(): void {
    this.waiting.clear();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.serveOne());
  }

  private serveOne(): void {
    this.scheduled = false;
    // Map iteration order: the first key is the one served longest ago (a served key moves to the back)
    const first = this.waiting.entries().next();
    if (first.done) return;
    const [key, list] = first.value;
    this.waiting.delete(key);
    const next = list.shift();
    if (list.length) this.waiting.set(key, list);
    next?.();
    if (this.waiting.size) this.schedule();
  }
}
