import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { sweepTempFiles, writeFileAtomic } from '../../util/atomic-file.js';
import type { Logger } from '../../util/log.js';
import { RULES, type RuleName } from './rules.js';

export interface AlertEvent {
  id: number;
  atMs: number;
  /** 'test': sent by POST /api/v1/alerts/test */
  rule: RuleName | 'test';
  subject: string;
  state: 'firing' | 'resolved';
  severity: 'warning' | 'critical';
  message: string;
  value?: number;
  threshold?: number;
  miner: string;
}

const FORMAT = 1;

/**
 * The last `max` alert events, kept in a file in the state folder. Writes are atomic (a crash leaves the old or the
 * new file whole) and batched by the caller's flush; a file that cannot be read is set aside, never overwritten.
 */
export class AlertHistory {
  private events: AlertEvent[] = [];
  private dirty = false;

  constructor(
    readonly file: string,
    private max: number,
    private readonly log: Logger,
  ) {}

  load(): void {
    sweepTempFiles(this.file);
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.error({ file: this.file, err: (err as Error).message }, 'cannot read the alert history');
      return;
    }
    try {
      const doc = JSON.parse(text) as { format?: unknown; events?: unknown };
      if (doc.format !== FORMAT || !Array.isArray(doc.events))
        throw new Error(`expected {"format": ${FORMAT}, "events": […]}`);
      const good = doc.events.filter(isEvent);
      if (good.length < doc.events.length)
        this.log.warn(
          { file: this.file, skipped: doc.events.length - good.length },
          'alert history: events with missing or unknown fields left out',
        );
      this.events = good.slice(-this.max);
    } catch (err) {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      renameSync(this.file, aside);
      this.log.error(
        { file: this.file, movedTo: aside, err: (err as Error).message },
        'alert history unreadable: set aside, starting a new one',
      );
    }
  }

  add(e: AlertEvent): void {
    this.events.push(e);
    if (this.events.length > this.max) this.events.splice(0, this.events.length - this.max);
    this.dirty = true;
  }

  setMax(max: number): void {
    this.max = max;
    if (this.events.length > max) {
      this.events.splice(0, this.events.length - max);
      this.dirty = true;
    }
  }

  /** Newest last. */
  recent(n: number): AlertEvent[] {
    return this.events.slice(-n);
  }

  get lastId(): number {
    return this.events.at(-1)?.id ?? 0;
  }

  /** Writes the file if anything changed since the last write. */
  flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      writeFileAtomic(this.file, `${JSON.stringify({ format: FORMAT, events: this.events })}\n`, 0o600);
    } catch (err) {
      this.dirty = true;
      this.log.error({ file: this.file, err: (err as Error).message }, 'cannot save the alert history');
    }
  }
}

/** Every field GET /api/v1/alerts promises: an event that lacks one (a hand edit, a torn write) is left out. */
function isEvent(e: unknown): e is AlertEvent {
  const x = e as Partial<AlertEvent> | null;
  return (
    x !== null &&
    typeof x === 'object' &&
    Number.isInteger(x.id) &&
    typeof x.atMs === 'number' &&
    Number.isFinite(x.atMs) &&
    typeof x.rule === 'string' &&
    (x.rule === 'test' || (RULES as readonly string[]).includes(x.rule)) &&
    typeof x.subject === 'string' &&
    (x.state === 'firing' || x.state === 'resolved') &&
    (x.severity === 'warning' || x.severity === 'critical') &&
    typeof x.message === 'string' &&
    typeof x.miner === 'string' &&
    (x.value === undefined || typeof x.value === 'number') &&
    (x.threshold === undefined || typeof x.threshold === 'number')
  );
}
