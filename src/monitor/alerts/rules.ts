import type { AlertsConfig } from '../../config/schema.js';
import type { AlertInputs } from './inputs.js';

export const RULES = [
  'chip_temp',
  'board_temp',
  'hashrate_low',
  'pool_dead',
  'pool_rejecting',
  'no_pool',
  'board_lost',
  'fan_failed',
  'safety_cutoff',
  'tuner_failed',
] as const;
export type RuleName = (typeof RULES)[number];

/** One rule's verdict on one subject (a board, pool or fan) at one instant. */
export interface Condition {
  rule: RuleName;
  subject: string;
  active: boolean;
  value?: number;
  threshold?: number;
  reason?: string;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Every rule over the current inputs: pure, so the engine's timing can be tested without a miner. */
export function evaluateRules(cfg: AlertsConfig, x: AlertInputs): Condition[] {
  const out: Condition[] = [];
  const add = (c: Condition) => {
    if (cfg[c.rule].enabled) out.push(c);
  };
  for (const b of x.boards) {
    const subject = `board ${b.board}`;
    const chipLimit = cfg.chip_temp.above_c;
    add({
      rule: 'chip_temp',
      subject,
      active: b.maxChipC !== null && b.maxChipC > chipLimit,
      value: b.maxChipC === null ? undefined : round1(b.maxChipC),
      threshold: chipLimit,
    });
    const boardLimit = cfg.board_temp.above_c;
    add({
      rule: 'board_temp',
      subject,
      active: b.boardC !== null && b.boardC > boardLimit,
      value: b.boardC === null ? undefined : round1(b.boardC),
      threshold: boardLimit,
    });
    // only a board that mines can fall short; a board off or lost is another rule's business
    const percent = b.idealHashrateHs > 0 ? (b.hashrateHs / b.idealHashrateHs) * 100 : undefined;
    add({
      rule: 'hashrate_low',
      subject,
      active: b.state === 'mining' && percent !== undefined && percent < cfg.hashrate_low.below_percent,
      value: percent === undefined ? undefined : round1(percent),
      threshold: cfg.hashrate_low.below_percent,
    });
    add({ rule: 'board_lost', subject, active: b.state === 'lost', reason: b.reason });
    const held = b.safetyHold ?? (b.state === 'cooling' ? b.reason : null);
    add({ rule: 'safety_cutoff', subject, active: held !== null, reason: held ?? b.reason });
  }
  for (const p of x.pools) {
    const subject = `pool ${p.pool} (${p.url})`;
    add({ rule: 'pool_dead', subject, active: p.enabled && p.status === 'dead', reason: p.lastError || 'no answer' });
    add({
      rule: 'pool_rejecting',
      subject,
      active: p.enabled && p.status === 'rejecting',
      reason: p.lastError || 'shares rejected',
    });
  }
  const mining = x.pools.find((p) => p.current);
  add({
    rule: 'no_pool',
    subject: 'miner',
    active: x.pools.some((p) => p.enabled) && !mining,
    reason: mining ? `pool ${mining.pool}` : 'none alive',
  });
  for (const f of x.fans) add({ rule: 'fan_failed', subject: `fan ${f.fan}`, active: f.failed, value: f.rpm });
  for (const t of x.tuner)
    add({ rule: 'tuner_failed', subject: `board ${t.board}`, active: t.failed, reason: t.reason });
  return out;
}

/**
 * A filled-in value is cut to this: {reason} may be a pool's error text, up to a whole Stratum line (64 KiB), and each
 * event goes to the history file, every notifier and MQTT.
 */
const MAX_FIELD_CHARS = 200;

/** Fills {subject}, {value}, {threshold}, {reason} in a rule's message. */
export function renderMessage(template: string, c: Condition): string {
  return template.replace(/\{(subject|value|threshold|reason)\}/g, (_m, k: string) => {
    const v = c[k as 'subject' | 'value' | 'threshold' | 'reason'];
    const text = v === undefined ? '?' : String(v);
    return text.length > MAX_FIELD_CHARS ? `${text.slice(0, MAX_FIELD_CHARS - 1)}…` : text;
  });
}
