import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Miner } from '../miner.js';
import { type AuditLog, FailureLimiter, roleAtLeast, type TokenStore } from './auth.js';
import { RateLimiter } from './rate-limit.js';
import { TurnBudget } from './turn-budget.js';

declare module 'fastify' {
  interface FastifyReply {
    /** what a write created, for the audit log (a pool, a token) */
    auditTarget?: string;
  }
}

/** WebSocket clients (browsers cannot set headers there) send the token as a subprotocol: `asicd.bearer.<token>`. */
export const WS_TOKEN_PROTOCOL_PREFIX = 'asicd.bearer.';
/** The subprotocol the server answers with; a client offering a token protocol offers this one too. */
export const WS_PROTOCOL = 'asicd';

/** Requests a second from one address (burst twice that), and from all addresses together. */
export const REQUESTS_PER_S_PER_ADDRESS = 50;
export const REQUESTS_PER_S_TOTAL = 500;
/**
 * A request past its rate is answered 429 this much later (its Retry-After). A keep-alive client that sends again at
 * once then costs one request per connection per interval, not as many as it can send: with the connections
 * bounded too, what a flood costs the daemon is bounded whatever the clients do.
 */
export const RATE_LIMITED_REPLY_DELAY_MS = 1000;
/** Open HTTP and WebSocket connections in all (the unit allows 4096 files; the rest are boards, pools, cgminer). */
export const MAX_HTTP_CONNECTIONS = 2048;
/** API requests that go on per event-loop turn; more wait for later turns, with the chains served in between. */
export const REQUESTS_PER_TURN = 4;
/** Failed token checks a minute from all addresses together, before every token check waits. */
export const TOTAL_FAILURES_PER_MIN = 30;

export function isLoopback(ip: string): boolean {
  const a = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

/** The host name of a Host header or URL authority, without port or brackets. */
function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/** A Host naming this machine by a loopback name: a DNS-rebinding page reaches loopback under its own name. */
export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const h = hostName(hostHeader);
  return h === 'localhost' || h.endsWith('.localhost') || isLoopback(h);
}

/**
 * A request with an Origin (a browser page) must come from the page the API itself serves: same scheme-less
 * host and port as the Host it was sent to. Tools (curl, Prometheus, farm software) send no Origin.
 */
export function originAllowed(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined) return true;
  if (!hostHeader) return false;
  try {
    return new URL(origin).host.toLowerCase() === hostHeader.trim().toLowerCase();
  } catch {
    return false;
  }
}

function tokenOf(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const proto = req.headers['sec-websocket-protocol'];
  if (typeof proto === 'string' && req.headers.upgrade?.toLowerCase() === 'websocket') {
    const hit = proto
      .split(',')
      .map((p) => p.trim())
      .find((p) => p.startsWith(WS_TOKEN_PROTOCOL_PREFIX));
    if (hit) return hit.slice(WS_TOKEN_PROTOCOL_PREFIX.length);
  }
  return undefined;
}

/**
 * Authentication, roles, request rates and browser checks for every route, and the audit of writes.
 * Tokens come only in headers (Authorization, or the WebSocket subprotocol): never in URLs, which end up in logs
 * and browser history.
 */
export function installAccess(app: FastifyInstance, deps: { miner: Miner; tokens: TokenStore; audit: AuditLog }): void {
  const { miner, tokens, audit } = deps;
  const perAddress = new FailureLimiter();
  const allFailures = new FailureLimiter(TOTAL_FAILURES_PER_MIN);
  const rates = new RateLimiter(REQUESTS_PER_S_PER_ADDRESS, REQUESTS_PER_S_TOTAL);
  const turns = new TurnBudget(REQUESTS_PER_TURN);

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const ip = req.ip;
    const wait = turns.take();
    if (wait) await wait;
    if (!rates.take(ip)) {
      await new Promise((r) => setTimeout(r, RATE_LIMITED_REPLY_DELAY_MS));
      // the replies held back together are due together: they too go out a few a turn
      const again = turns.take();
      if (again) await again;
      reply.header('retry-after', String(RATE_LIMITED_REPLY_DELAY_MS / 1000));
      return reply.code(429).send({ error: 'too many requests; slow down' });
    }
    const need = req.routeOptions.config.role;
    if (!need) return;
    if (!originAllowed(req.headers.origin, req.headers.host))
      return reply.code(403).send({ error: `requests from pages at ${req.headers.origin} are not allowed` });
    const token = tokenOf(req);
    if (token !== undefined) {
      if (perAddress.blocked(ip) || allFailures.blocked('*'))
        return reply.code(429).send({ error: 'too many failed attempts; wait a minute' });
      const caller = tokens.verify(token);
      if (!caller) {
        perAddress.fail(ip);
        allFailures.fail('*');
        audit.record({
          who: 'unknown',
          role: 'none',
          ip,
          action: `${req.method} ${req.url.split('?')[0]}`,
          result: '401 bad token',
        });
        return reply.code(401).send({ error: 'invalid token' });
      }
      req.caller = caller;
    } else if (
      need === 'viewer' &&
      req.method === 'GET' &&
      miner.config.api.open_reads_on_loopback &&
      isLoopback(ip) &&
      isLoopbackHost(req.headers.host)
    ) {
      req.caller = { id: 'loopback', name: 'loopback reader', role: 'viewer' };
    } else {
      return reply.code(401).send({ error: 'a token is needed: Authorization: Bearer <token>' });
    }
    if (!roleAtLeast(req.caller.role, need)) return reply.code(403).send({ error: `this needs the ${need} role` });
  });

  app.addHook('onResponse', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD' || !req.routeOptions.config.role) return;
    const params = req.params as Record<string, unknown> | undefined;
    audit.record({
      who: req.caller?.name ?? 'unknown',
      role: req.caller?.role ?? 'none',
      ip: req.ip,
      action: `${req.method} ${req.routeOptions.url ?? req.url}`,
      target: auditTarget(req, params, reply),
      result: String(reply.statusCode),
    });
  });
}

/** What a write acted on: its path parameters, or what it created (set by the route as reply.auditTarget). */
function auditTarget(
  _req: FastifyRequest,
  params: Record<string, unknown> | undefined,
  reply: FastifyReply,
): string | undefined {
  const created = reply.auditTarget;
  if (created) return created;
  if (params && Object.keys(params).length) return JSON.stringify(params);
  return undefined;
}
