import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

const REDACTED = '[REDACTED]';

/** Strings that must never reach a log line: pool passwords, API tokens. Filled as config and tokens are loaded. */
const secrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  // Short values (the conventional pool password "x") would blank out ordinary words.
  if (value && value.length >= 4) secrets.add(value);
}

const URL_SECRETS: [RegExp, string][] = [
  // user:password@ in URLs
  // (the lookbehind starts a scheme only where a word starts: without it a long run of letters costs O(n²))
  [/(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/[^\s:/@"]+:)[^\s@/"]+@/gi, `$1${REDACTED}@`],
  // ?token=… &key=… &secret=… &password=…
  [/([?&](?:token|key|secret|password|pass|apikey|api_key|access_token)=)[^&\s"]+/gi, `$1${REDACTED}`],
  // Slack (/services/T/B/secret), Discord and Teams style webhook paths (/webhooks/id/secret)
  [/(\/services\/[^/\s"]+\/[^/\s"]+\/)[^\s"/?]+/g, `$1${REDACTED}`],
  [/(\/webhooks?\/[^/\s"]+\/)[^\s"/?]+/g, `$1${REDACTED}`],
  // Telegram bot tokens: /bot123456:ABC…
  [/(\/bot[0-9]+:)[A-Za-z0-9_-]+/g, `$1${REDACTED}`],
];

/** Scrubs every known secret and secret-looking URL part from a serialized line. */
export function scrub(line: string): string {
  let out = line;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
    const json = JSON.stringify(s).slice(1, -1);
    if (json !== s && out.includes(json)) out = out.split(json).join(REDACTED);
  }
  for (const [re, rep] of URL_SECRETS) out = out.replace(re, rep);
  return out;
}

/** The last lines written (already scrubbed), for the API's log view and WebSocket topic. */
export class LogRing {
  private lines: string[] = [];
  private readonly listeners = new Set<(line: string) => void>();

  constructor(private readonly max = 1000) {}

  write(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
    for (const l of this.listeners) l(line);
  }

  recent(n: number): string[] {
    return this.lines.slice(-n);
  }

  subscribe(fn: (line: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

export const recentLogs = new LogRing();

export interface LogOptions {
  level?: string;
  pretty?: boolean;
  /** Where lines go; stdout when absent. */
  destination?: DestinationStream;
}

/**
 * pino-pretty is loaded only when asked for (--pretty, a terminal): the service logs JSON to journald, and the
 * pretty printer costs several MB of memory on a controller that never uses it.
 */
function prettyStream(): DestinationStream {
  const PinoPretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return PinoPretty({ sync: true, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l' });
}

export function createLogger(opts: LogOptions = {}): Logger {
  const dest: DestinationStream =
    opts.destination ?? (opts.pretty ? prettyStream() : pino.destination({ fd: 1, sync: false }));
  const tee = pino.multistream([
    { stream: dest, level: 'trace' },
    { stream: recentLogs, level: 'trace' },
  ]);
  return pino(
    {
      level: opts.level ?? 'info',
      base: { svc: 'asicd' },
      redact: {
        paths: [
          'password',
          '*.password',
          'pools[*].password',
          'config.pools[*].password',
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          'req.headers.authorization',
          'headers.authorization',
        ],
        censor: REDACTED,
      },
      hooks: { streamWrite: scrub },
    },
    tee,
  );
}
