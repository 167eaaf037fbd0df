/**
 * At most `perTurn` API requests go on per event-loop turn; the rest wait, in arrival order, for later turns. Between
 * two batches the loop polls again, so the chains' serial replies, the pools' sockets and the safety loop's timers are
 * served between any two batches of requests, however many arrive together.
 *
 * Why: a flood does not come evenly. 100 keep-alive clients held by the rate limit's delay are answered by timers due
 * at the same moment, and they all send again at once; handled in one turn, those 100 requests held the mining thread
 * for tens of milliseconds, and every nonce that arrived meanwhile waited for them.
 *
 * The queue holds at most one entry per open request, and open connections are bounded (MAX_HTTP_CONNECTIONS).
 */
export class TurnBudget {
  private used = 0;
  private readonly queue: (() => void)[] = [];
  private head = 0;
  private armed = false;

  constructor(private readonly perTurn: number) {}

  /** Requests waiting for a turn now. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** Undefined: go on now. A promise: go on when it resolves, at a later turn. */
  take(): Promise<void> | undefined {
    this.arm();
    if (this.used < this.perTurn && this.waiting === 0) {
      this.used++;
      return undefined;
    }
    return new Promise<void>((resolve) => this.queue.push(resolve));
  }

  /** The next turn starts with a fresh budget (setImmediate: after this turn's I/O, before the next poll). */
  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    this.armed = false;
    this.used = 0;
    while (this.used < this.perTurn && this.head < this.queue.length) {
      const go = this.queue[this.head];
      this.queue[this.head++] = noop;
      this.used++;
      go();
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    // more waiting: their turn comes after the next poll (an immediate set from an immediate runs a loop later)
    if (this.waiting > 0 || this.used > 0) this.arm();
  };
}

const noop = (): void => {};
