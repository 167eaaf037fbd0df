import net from 'node:net';
import { type AllowRule, parseAllow } from '../config/networks.js';
import type { CommandInfo } from './cgminer-bridge.js';
import { type Reply, replyJson, replyPlain } from './cgminer-format.js';
import { MSG, msgOnly, status } from './cgminer-proto.js';

// The cgminer-compatible API's network side (cgminer 4.13.6, API 3.7): JSON and plain requests, `+`-joined
// commands, one reply ending in NUL, then close. Access as cgminer's --api-allow. It runs in the API worker, away
// from the mining thread, and gets its reports from a Backend (the worker's link to the mining thread).
//
// What any client mix may cost is bounded all the same (the worker's memory and its link to the mining thread are
// shared by every client): the request size, the commands joined in one request, the reply size, the connections
// (in all and per address), and the whole life of a connection (not an idle timer a byte every few seconds resets).

/** Largest request, in bytes. */
export const MAX_REQUEST_BYTES = 8192;
/** Commands one request may join with `+` (cgminer sets no limit; farm tools join 3 or 4). */
export const MAX_JOINED = 8;
/** Largest reply, in bytes: a reply past it is replaced by an error. */
export const MAX_REPLY_BYTES = 256 * 1024;
/** Open connections in all, and from one address. */
export const MAX_CONNECTIONS = 64;
export const MAX_CONNECTIONS_PER_ADDRESS = 8;
/** A connection is closed this long after it opened, whatever it sends: request, command and reply must fit. */
export const CONNECTION_LIFETIME_MS = 5000;

/** Refused connections closed in order at once, and how long each may take to go. */
const MAX_REFUSING = 128;
const REFUSE_LINGER_MS = 250;

/** Where reports come from and commands go: the mining thread, through the worker's link. */
export interface Backend {
  /** A read-only report (made moments ago, or made now). */
  read(name: string, param: string | undefined, write: boolean): Promise<Reply>;
  /** A privileged command, run in this address's turn; `gone` tells that the client left while it waited. */
  run(name: string, param: string | undefined, addr: string, gone: () => boolean): Promise<Reply>;
}

export interface ServerCounters {
  connections: number;
  refused: number;
  expired: number;
  tooLarge: number;
  tooManyJoined: number;
}

/** Which access an address has under a --api-allow rule list: undefined = none. */
export function accessOf(allow: AllowRule[], ip: string): 'R' | 'W' | undefined {
  const a = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  const family = net.isIPv6(a) ? 'ipv6' : 'ipv4';
  let found: 'R' | 'W' | undefined;
  for (const rule of allow) {
    if (rule.net.check(a, family)) {
      if (rule.write) return 'W';
      found = 'R';
    }
  }
  return found;
}

export class CgminerServer {
  private server: net.Server | undefined;
  private readonly allow: AllowRule[];
  private readonly perAddress = new Map<string, number>();
  private readonly sockets = new Set<net.Socket>();
  private refusing = 0;

  constructor(
    private readonly opts: { host: string; port: number; allow: string; lifetimeMs: number },
    private readonly commands: Record<string, CommandInfo>,
    private readonly backend: Backend,
    /** told of every change of a counter (the worker keeps them where the mining thread reads them) */
    private readonly count: (what: keyof ServerCounters, delta: number) => void,
  ) {
    this.allow = parseAllow(opts.allow);
  }

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.opts.port;
  }

  async start(): Promise<void> {
    // half-open: a client may send its request and shut its side before we answer (cgminer's own clients do)
    const server = net.createServer({ allowHalfOpen: true }, (s) => this.accept(s));
    // Past every slot and every orderly refusal, node closes a new connection's handle before making a socket of
    // it: in a flood of connections that is the cheapest refusal there is, and it is the one a flood gets.
    server.maxConnections = MAX_CONNECTIONS + MAX_REFUSING;
    server.on('drop', (data?: { remoteAddress?: string }) => {
      if (accessOf(this.allow, data?.remoteAddress ?? '')) this.count('refused', 1);
    });
    this.server = server;
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(this.opts.port, this.opts.host, () => res());
    });
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private accept(sock: net.Socket): void {
    const addr = sock.remoteAddress ?? '';
    const group = accessOf(this.allow, addr);
    const mine = this.perAddress.get(addr) ?? 0;
    if (!group || this.sockets.size >= MAX_CONNECTIONS || mine >= MAX_CONNECTIONS_PER_ADDRESS) {
      if (group) this.count('refused', 1);
      this.refuse(sock);
      return;
    }
    this.sockets.add(sock);
    this.count('connections', 1);
    this.perAddress.set(addr, mine + 1);
    const lifetime = setTimeout(() => {
      this.count('expired', 1);
      sock.destroy();
    }, this.opts.lifetimeMs);
    sock.once('close', () => {
      clearTimeout(lifetime);
      this.sockets.delete(sock);
      this.count('connections', -1);
      const n = (this.perAddress.get(addr) ?? 1) - 1;
      if (n > 0) this.perAddress.set(addr, n);
      else this.perAddress.delete(addr);
    });
    let buf = '';
    let answered = false;
    const gone = () => sock.destroyed;
    // one request per connection, run once: a client that half-closes while a command runs must not run it again
    const finish = async () => {
      if (answered) return;
      answered = true;
      sock.removeAllListeners('data');
      const reply = await this.handle(buf, group, addr, gone);
      if (!sock.destroyed) sock.end(`${reply}\u0000`);
    };
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      if (buf.length > MAX_REQUEST_BYTES) {
        answered = true;
        sock.removeAllListeners('data');
        sock.end(`${replyJson(msgOnly('E', MSG.INVCMD, 'Invalid command'))}\u0000`);
        return;
      }
      // a request is complete at a NUL or newline, or when it is a whole JSON object
      const trimmed = buf.replaceAll('\u0000', '').trim();
      if (buf.includes('\n') || buf.includes('\u0000') || (trimmed.startsWith('{') && isJson(trimmed))) void finish();
    });
    sock.on('end', () => {
      if (buf.length) void finish();
      // a client that leaves without asking frees its slot now, not at the end of its lifetime
      else if (!answered) sock.destroy();
    });
    sock.on('error', () => {});
  }

  /**
   * Closes a connection unanswered. A close with the client's request unread would reset the connection, so while
   * few are refused at once each gets an orderly close (its request read and dropped); in a flood, a reset.
   */
  private refuse(sock: net.Socket): void {
    sock.on('error', () => {});
    if (this.refusing >= MAX_REFUSING) {
      sock.destroy();
      return;
    }
    this.refusing++;
    const t = setTimeout(() => sock.destroy(), REFUSE_LINGER_MS);
    sock.once('close', () => {
      clearTimeout(t);
      this.refusing--;
    });
    sock.resume();
    sock.end();
  }

  /** One request in, one reply out (without the NUL). */
  async handle(raw: string, group: 'R' | 'W', addr = '', gone: () => boolean = () => false): Promise<string> {
    const text = raw.replaceAll('\u0000', '').trim();
    if (text.startsWith('{')) {
      let req: unknown;
      try {
        req = JSON.parse(text);
      } catch {
        return replyJson(msgOnly('E', MSG.INVJSON, 'Invalid JSON'));
      }
      const o = req as { command?: unknown; parameter?: unknown };
      if (typeof o.command !== 'string') return replyJson(msgOnly('E', 24, "Missing JSON 'command'"));
      const param = o.parameter === undefined || o.parameter === null ? undefined : String(o.parameter);
      const names = o.command
        .split('+')
        .map((c) => c.trim())
        .filter(Boolean);
      if (names.length > MAX_JOINED) {
        this.count('tooManyJoined', 1);
        return replyJson(msgOnly('E', MSG.INVCMD, `Invalid command: at most ${MAX_JOINED} joined commands`));
      }
      if (names.length > 1) {
        const parts: string[] = [];
        let size = 0;
        for (const name of names) {
          const cmd = this.command(name);
          const part =
            cmd && !cmd.joinable
              ? replyJson(msgOnly('E', MSG.ACCDENY, `Access denied to '${name}' command`))
              : replyJson(await this.report(name, param, group, addr, gone));
          size += part.length;
          if (size > MAX_REPLY_BYTES) return this.tooLarge();
          parts.push(`${JSON.stringify(name)}:[${part}]`);
        }
        return `{${parts.join(',')},"id":1}`;
      }
      const out = replyJson(await this.report(names[0] ?? '', param, group, addr, gone));
      return out.length > MAX_REPLY_BYTES ? this.tooLarge() : out;
    }
    const bar = text.indexOf('|');
    const name = bar < 0 ? text : text.slice(0, bar);
    const param = bar < 0 ? undefined : text.slice(bar + 1);
    const out = replyPlain(await this.report(name, param, group, addr, gone));
    return out.length > MAX_REPLY_BYTES ? this.tooLarge() : out;
  }

  private command(name: string): CommandInfo | undefined {
    return Object.hasOwn(this.commands, name) ? this.commands[name] : undefined;
  }

  private tooLarge(): string {
    this.count('tooLarge', 1);
    return replyJson(msgOnly('E', MSG.INVCMD, `Invalid command: the reply would pass ${MAX_REPLY_BYTES} bytes`));
  }

  /** Unknown and denied commands are answered here; reads and privileged commands by the backend. */
  private report(
    name: string,
    param: string | undefined,
    group: 'R' | 'W',
    addr: string,
    gone: () => boolean,
  ): Promise<Reply> | Reply {
    const cmd = this.command(name);
    if (!cmd) return { status: status('E', MSG.INVCMD, 'Invalid command', false) };
    // a parameter the report ignores must not make it anew: `stats|1`, `stats|2`… would each cost the mining thread
    if (!cmd.privileged) return this.backend.read(name, cmd.usesParam ? param : undefined, group === 'W');
    if (group !== 'W') return msgOnly('E', MSG.ACCDENY, `Access denied to '${name}' command`);
    return this.backend.run(name, param, addr, gone);
  }
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}
