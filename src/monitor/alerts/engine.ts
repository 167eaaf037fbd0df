import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AlertsConfig, Config } from '../../config/schema.js';
import type { Component } from '../../util/lifecycle.js';
import type { Logger } from '../../util/log.js';
import { type AlertEvent, AlertHistory } from './history.js';
import type { AlertInputs } from './inputs.js';
import { type Condition, evaluateRules, RULES, type RuleName, renderMessage } from './rules.js';

export interface ActiveAlert {
  rule: RuleName;
  subject: string;
  severity: 'warning' | 'critical';
  sinceMs: number;
  message: string;
  value?: number;
}

/**
 * Durations (for_s, cooldown_s) are measured on the monotonic clock: a controller without a real-time clock boots in
 * 1970 and jumps decades when NTP syncs, which on the wall clock would fire every pending alert at once, or hold
 * cooldowns for decades after a jump back. The wall clock only stamps events.
 */
const monotonicMs = () => performance.now();

interface Track {
  /** monotonic ms when the condition started to hold (undefined: it does not hold) */
  sinceMs: number | undefined;
  firing: boolean;
  /** wall-clock ms of the firing, as REST shows it */
  firedAtMs: number;
  /** monotonic ms of the last firing, for the cooldown */
  lastFiredMs: number | undefined;
  last: Condition;
}

const EVAL_INTERVAL_MS = 1000;
/** History writes are batched: at most one file write this often (and one at stop). */
const FLUSH_INTERVAL_MS = 5000;

/**
 * Alert rules over the miner's state: a condition that holds `for_s` fires (once per `cooldown_s`), and resolves
 * when it no longer holds. Events go to the history file and to listeners ('alert', AlertEvent): notifiers, MQTT,
 * the WebSocket. Reads the miner through `read()` only; never changes it.
 */
export class AlertEngine extends EventEmitter implements Component {
  readonly name = 'alerts';
  readonly history: AlertHistory;
  /** events since start, per rule and state (for /metrics) */
  readonly totals = new Map<RuleName, { firing: number; resolved: number }>(
    RULES.map((r) => [r, { firing: 0, resolved: 0 }]),
  );
  private readonly tracks = new Map<string, Track>();
  private timer: NodeJS.Timeout | undefined;
  private lastFlushMs = 0;
  private nextId = 1;

  constructor(
    private cfg: AlertsConfig,
    stateDir: string,
    private readonly read: () => AlertInputs,
    private readonly log: Logger,
  ) {
    super();
    this.history = new AlertHistory(join(stateDir, 'alerts.json'), cfg.history_max, log);
  }

  get minerName(): string {
    return this.cfg.miner_name || hostname();
  }

  async start(): Promise<void> {
    this.history.load();
    this.nextId = this.history.lastId + 1;
    this.restore();
    if (!this.cfg.enabled) return;
    this.timer = setInterval(() => this.tick(), EVAL_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.history.flush();
  }

  reload(next: Config, changed: string[]): string[] {
    this.cfg = next.alerts;
    this.history.setMax(next.alerts.history_max);
    if (next.alerts.enabled && !this.timer) this.timer = setInterval(() => this.tick(), EVAL_INTERVAL_MS);
    if (!next.alerts.enabled && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.step(monotonicMs(), { boards: [], pools: [], fans: [], tuner: [] }, Date.now());
    }
    return changed.filter((k) => k.startsWith('alerts.'));
  }

  private tick(): void {
    try {
      this.step(monotonicMs(), this.read(), Date.now());
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'alert evaluation failed');
    }
    if (monotonicMs() - this.lastFlushMs >= FLUSH_INTERVAL_MS) {
      this.lastFlushMs = monotonicMs();
      this.history.flush();
    }
  }

  /**
   * One evaluation at `nowMs` (monotonic: durations are measured on it), events stamped `wallMs` (defaults to
   * `nowMs`): returns the events it made (also emitted and recorded).
   */
  step(nowMs: number, inputs: AlertInputs, wallMs = nowMs): AlertEvent[] {
    const events: AlertEvent[] = [];
    const seen = new Set<string>();
    for (const c of evaluateRules(this.cfg, inputs)) {
      const key = `${c.rule}|${c.subject}`;
      seen.add(key);
      let t = this.tracks.get(key);
      if (!t) {
        t = { sinceMs: undefined, firing: false, firedAtMs: 0, lastFiredMs: undefined, last: c };
        this.tracks.set(key, t);
      }
      t.last = c;
      const rule = this.cfg[c.rule];
      if (c.active) {
        t.sinceMs ??= nowMs;
        const held = nowMs - t.sinceMs >= rule.for_s * 1000;
        const cooled = t.lastFiredMs === undefined || nowMs - t.lastFiredMs >= rule.cooldown_s * 1000;
        if (!t.firing && held && cooled) {
          t.firing = true;
          t.firedAtMs = wallMs;
          t.lastFiredMs = nowMs;
          events.push(this.record(wallMs, c, 'firing'));
        }
      } else {
        t.sinceMs = undefined;
        if (t.firing) {
          t.firing = false;
          events.push(this.record(wallMs, c, 'resolved'));
        }
      }
    }
    for (const [key, t] of this.tracks) {
      if (!seen.has(key)) {
        // the subject went away (a pool removed, a rule switched off): what was firing is over
        if (t.firing) events.push(this.record(wallMs, { ...t.last, active: false }, 'resolved'));
        this.tracks.delete(key);
      } else if (!t.firing && t.sinceMs === undefined) {
        const cooldownMs = this.cfg[t.last.rule].cooldown_s * 1000;
        if (t.lastFiredMs === undefined || nowMs - t.lastFiredMs >= cooldownMs) this.tracks.delete(key);
      }
    }
    return events;
  }

  private record(wallMs: number, c: Condition, state: 'firing' | 'resolved'): AlertEvent {
    const rule = this.cfg[c.rule];
    const e: AlertEvent = {
      id: this.nextId++,
      atMs: wallMs,
      rule: c.rule,
      subject: c.subject,
      state,
      severity: rule.severity,
      message: renderMessage(state === 'firing' ? rule.message : rule.resolve_message, c),
      ...(c.value !== undefined ? { value: c.value } : {}),
      ...(c.threshold !== undefined ? { threshold: c.threshold } : {}),
      miner: this.minerName,
    };
    this.history.add(e);
    const n = this.totals.get(c.rule);
    if (n) n[state]++;
    const level = state === 'resolved' ? 'info' : rule.severity === 'critical' ? 'error' : 'warn';
    this.log[level]({ rule: e.rule, subject: e.subject, state }, `alert ${state}: ${e.message}`);
    this.emit('alert', e);
    return e;
  }

  /** Alerts that were firing when the daemon stopped stay firing (and resolve when their condition no longer holds). */
  private restore(): void {
    const last = new Map<string, AlertEvent>();
    for (const e of this.history.recent(Number.MAX_SAFE_INTEGER)) last.set(`${e.rule}|${e.subject}`, e);
    // the monotonic clock restarts with the process: the cooldown of a restored alert counts from now
    const nowMs = monotonicMs();
    for (const [key, e] of last) {
      const rule = e.rule;
      if (e.state !== 'firing' || !isRule(rule)) continue;
      this.tracks.set(key, {
        sinceMs: nowMs,
        firing: true,
        firedAtMs: e.atMs,
        lastFiredMs: nowMs,
        last: { rule, subject: e.subject, active: true, value: e.value, threshold: e.threshold },
      });
    }
  }

  active(): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    for (const t of this.tracks.values()) {
      if (!t.firing) continue;
      const rule = this.cfg[t.last.rule];
      out.push({
        rule: t.last.rule,
        subject: t.last.subject,
        severity: rule.severity,
        sinceMs: t.firedAtMs,
        message: renderMessage(rule.message, t.last),
        ...(t.last.value !== undefined ? { value: t.last.value } : {}),
      });
    }
    return out;
  }
}

const isRule = (r: string): r is RuleName => (RULES as readonly string[]).includes(r);
