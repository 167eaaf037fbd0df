import { EventEmitter } from 'node:events';
import type { Logger } from '../util/log.js';

/**
 * A board's state. `paused`, `idle` and `cooling` are the held states: the board is powered off and nothing may power
 * it on while its hold lasts (operator pause, no usable pool, safety hold by the supervisor).
 */
export type BoardState = 'init' | 'bringup' | 'mining' | 'paused' | 'idle' | 'cooling' | 'lost' | 'stopped';

/** Why a board may not run: several can hold at once; each is lifted only by its own owner. */
export type HoldKind = 'safety' | 'pause' | 'no-work';

export type BoardEvent = 'bringup' | 'up' | 'fail' | 'lost' | 'hold' | 'stop';

/** The held state a set of holds shows, strongest first: safety over an operator's pause over an idle pool. */
const HELD_BY: readonly [HoldKind, BoardState][] = [
  ['safety', 'cooling'],
  ['pause', 'paused'],
  ['no-work', 'idle'],
];

const HELD = 'held' as const;
type Target = BoardState | typeof HELD;

/**
 * Every legal transition: state × event → next state ('held': the held state the current holds show). An event not
 * in a state's row is refused and logged; `bringup` is refused whenever a hold is set, so a held board cannot be
 * powered on by any path (restart, resume, a replug, ascset).
 */
export const TRANSITIONS: Readonly<Record<BoardState, Partial<Record<BoardEvent, Target>>>> = {
  init: { bringup: 'bringup', hold: HELD, lost: 'lost', stop: 'stopped' },
  bringup: { up: 'mining', fail: 'lost', lost: 'lost', hold: HELD, bringup: 'bringup', stop: 'stopped' },
  mining: { bringup: 'bringup', lost: 'lost', hold: HELD, stop: 'stopped' },
  paused: { bringup: 'bringup', lost: 'lost', hold: HELD, stop: 'stopped' },
  idle: { bringup: 'bringup', lost: 'lost', hold: HELD, stop: 'stopped' },
  cooling: { bringup: 'bringup', lost: 'lost', hold: HELD, stop: 'stopped' },
  lost: { bringup: 'bringup', lost: 'lost', hold: HELD, stop: 'stopped' },
  stopped: {},
};

/**
 * One board's state machine: the state, its cause, the holds, and the timers that belong to the state (cleared on
 * every transition, so none outlives its state). Async work started in a state takes `epoch` and checks `live(epoch)`
 * after each await: once the state has moved on, that work stops. Events: 'state' (state, cause).
 */
export class BoardStateMachine extends EventEmitter {
  state: BoardState = 'init';
  cause = 'starting';
  /** Bumped on every transition. */
  epoch = 0;
  readonly holds = new Map<HoldKind, string>();
  readonly transitions: { atMs: number; from: BoardState; to: BoardState; event: BoardEvent; cause: string }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly log: Logger) {
    super();
  }

  get held(): boolean {
    return this.holds.size > 0;
  }

  /** The held state the current holds show (undefined: none). */
  heldState(): BoardState | undefined {
    for (const [k, s] of HELD_BY) if (this.holds.has(k)) return s;
    return undefined;
  }

  /** The cause shown for the strongest hold. */
  holdCause(): string {
    for (const [k] of HELD_BY) {
      const why = this.holds.get(k);
      if (why !== undefined) return why;
    }
    return '';
  }

  can(event: BoardEvent): boolean {
    if (event === 'bringup' && this.held) return false;
    if (event === 'hold' && !this.held) return false;
    return TRANSITIONS[this.state][event] !== undefined;
  }

  /** Fires an event; false (and a debug line) when the table or a hold forbids it. */
  fire(event: BoardEvent, cause: string): boolean {
    if (!this.can(event)) {
      this.log.debug({ state: this.state, event, cause, holds: [...this.holds.keys()] }, 'board event refused');
      return false;
    }
    const target = TRANSITIONS[this.state][event] as Target;
    const to = target === HELD ? (this.heldState() as BoardState) : target;
    const shownCause = target === HELD ? this.holdCause() : cause;
    const from = this.state;
    if (from === to && this.cause === shownCause && event === 'hold') return true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.epoch++;
    this.state = to;
    this.cause = shownCause;
    this.transitions.push({ atMs: Date.now(), from, to, event, cause: shownCause });
    if (this.transitions.length > 100) this.transitions.shift();
    const level = to === 'lost' || to === 'cooling' ? 'warn' : 'info';
    this.log[level]({ from, to, event, cause: shownCause }, `board ${to}: ${shownCause}`);
    this.emit('state', to, shownCause);
    return true;
  }

  /** Whether work started at `epoch` may go on. */
  live(epoch: number): boolean {
    return this.epoch === epoch;
  }

  /** A timer of the current state: cleared when the state changes. */
  timer(fn: () => void, ms: number): void {
    const epoch = this.epoch;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.live(epoch)) fn();
    }, ms);
    this.timers.add(t);
  }

  /** Clears the current state's timers without a transition (the state's own work replaces them). */
  clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
