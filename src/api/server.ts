import { isIP } from 'node:net';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { stringify } from 'smol-toml';
import { ConfigError, validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { FactoryContext } from '../daemon.js';
import type { Miner } from '../miner.js';
import { PoolOpError } from '../pool/manager/manager.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { Component } from '../util/lifecycle.js';
import { type Logger, recentLogs } from '../util/log.js';
import { VERSION } from '../version.js';
import { AuditLog, type Caller, FailureLimiter, type Role, roleAtLeast, TokenStore } from './auth.js';
import { createMetrics } from './metrics.js';
import { boardView, chipViews, poolsView, poolView } from './views.js';
import { registerWebSocket } from './ws.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** least role a route needs; absent = public */
    role?: Role;
  }
  interface FastifyRequest {
    caller?: Caller;
  }
}

const Obj = (props: Record<string, TSchema>, description?: string) =>
  Type.Object(props, { additionalProperties: true, description });
const ErrorReply = Type.Object({ error: Type.String(), details: Type.Optional(Type.Array(Type.String())) });
const Ok = Type.Object({ ok: Type.Boolean(), message: Type.Optional(Type.String()) });
const Windows = Type.Object({
  h5s: Type.Number(),
  h1m: Type.Number(),
  h5m: Type.Number(),
  h15m: Type.Number(),
  avg: Type.Number(),
});
const SummarySchema = Obj(
  {
    version: Type.String(),
    uptimeS: Type.Number(),
    hashrate: Windows,
    idealHashrateHs: Type.Number(),
    accepted: Type.Number(),
    rejected: Type.Number(),
    stale: Type.Number(),
    lost: Type.Number(),
    bestShare: Type.Number(),
    hwErrors: Type.Number(),
    powerW: Type.Number(),
    jPerTh: Type.Number(),
  },
  'Hash rate in H/s; power in W as the boards report it (the simulator scales it with its hash rate)',
);
const BoardSchema = Obj({
  board: Type.Integer(),
  state: Type.String(),
  hashrate: Windows,
  frequencyMHz: Type.Number(),
  wantedFrequencyMHz: Type.Number({ description: 'configured or set by an operator; throttling stays at or below it' }),
  throttled: Type.Boolean({ description: 'running below wantedFrequencyMHz because the chips were hot' }),
  throttleSteps: Type.Integer({ description: 'thermal throttling steps down and up since start' }),
});
const PoolSchema = Obj({
  pool: Type.Integer(),
  url: Type.String(),
  user: Type.String(),
  status: Type.String(),
  priority: Type.Integer(),
});
const PoolId = Type.Object({ pool: Type.Integer({ minimum: 0, maximum: 1_000_000 }) });
const BoardId = Type.Object({ board: Type.Integer({ minimum: 0, maximum: 3 }) });
const NewPool = Type.Object(
  {
    url: Type.String({ pattern: '^stratum\\+(tcp|ssl|tls)://[^\\s/:]+:[0-9]{1,5}$', maxLength: 300 }),
    user: Type.String({ minLength: 1, maxLength: 256 }),
    password: Type.Optional(Type.String({ maxLength: 256 })),
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 999 })),
    quota: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    tls_insecure: Type.Optional(Type.Boolean()),
    suggest_difficulty: Type.Optional(Type.Number({ minimum: 0 })),
    extranonce_subscribe: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const PoolPatch = Type.Object(
  {
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 999 })),
    quota: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
const StrategyBody = Type.Object(
  {
    strategy: Type.Union(['failover', 'round-robin', 'rotate', 'load-balance', 'balance'].map((s) => Type.Literal(s))),
    fallback_time_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400 })),
    rotate_period_min: Type.Optional(Type.Integer({ minimum: 1, maximum: 10080 })),
  },
  { additionalProperties: false },
);
const TokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[\\w .@-]+$' }),
    role: Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('viewer')]),
  },
  { additionalProperties: false },
);
const Lines = Type.Object(
  { lines: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) },
  { additionalProperties: false },
);

const REDACTED = '[REDACTED]';

export function redactConfig(c: Config): Config {
  return { ...c, pools: c.pools.map((p) => ({ ...p, password: p.password ? REDACTED : '' })) };
}

function isLoopback(ip: string): boolean {
  const a = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

/** Deep merge of a JSON patch into a config (arrays and scalars replace). */
function merge(base: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) out[k] = merge(out[k], v);
  return out;
}

export interface ApiDeps {
  miner: Miner;
  config: Config;
  log: Logger;
  ctx: FactoryContext;
}

/** Builds the HTTP app: REST under /api/v1, WebSocket, /metrics, the OpenAPI document and its docs page. */
export async function buildApp(deps: ApiDeps): Promise<{ app: FastifyInstance; tokens: TokenStore; audit: AuditLog }> {
  const { miner, log, ctx } = deps;
  const stateDir = deps.config.daemon.state_dir;
  const tokens = new TokenStore(stateDir, log);
  tokens.load();
  const audit = new AuditLog(stateDir);
  const limiter = new FailureLimiter();
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, trustProxy: false });
  // Bodies are JSON and must carry the right types (no "7" for 7); paths and query strings are text and are coerced.
  const bodyAjv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, strict: false });
  const textAjv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'asicd API', version: VERSION, description: 'Operator API of the asicd miner daemon' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(fastifyWebsocket, { options: { maxPayload: 4096 } });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown[] }, _req, reply) => {
    if (err.validation) return reply.code(400).send({ error: `invalid request: ${err.message}` });
    if (err instanceof PoolOpError) return reply.code(err.code === 'ENOPOOL' ? 404 : 409).send({ error: err.message });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    log.error({ err }, 'API request failed');
    return reply.code(500).send({ error: 'internal error; see the daemon log' });
  });

  // authentication and roles
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const need = req.routeOptions.config.role;
    if (!need) return;
    const ip = req.ip;
    const header = req.headers.authorization;
    const q = req.query as Record<string, unknown> | undefined;
    const token = header?.startsWith('Bearer ')
      ? header.slice(7).trim()
      : typeof q?.token === 'string'
        ? q.token
        : undefined;
    if (token !== undefined) {
      if (limiter.blocked(ip)) return reply.code(429).send({ error: 'too many failed attempts; wait a minute' });
      const caller = tokens.verify(token);
      if (!caller) {
        limiter.fail(ip);
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
    } else if (need === 'viewer' && req.method === 'GET' && miner.config.api.open_reads_on_loopback && isLoopback(ip)) {
      req.caller = { id: 'loopback', name: 'loopback reader', role: 'viewer' };
    } else {
      return reply.code(401).send({ error: 'a token is needed: Authorization: Bearer <token>' });
    }
    if (!roleAtLeast(req.caller.role, need)) return reply.code(403).send({ error: `this needs the ${need} role` });
  });
  app.addHook('onResponse', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD' || !req.routeOptions.config.role) return;
    audit.record({
      who: req.caller?.name ?? 'unknown',
      role: req.caller?.role ?? 'none',
      ip: req.ip,
      action: `${req.method} ${req.routeOptions.url ?? req.url}`,
      target: JSON.stringify(req.params ?? {}),
      result: String(reply.statusCode),
    });
  });

  const viewer = { role: 'viewer' as const };
  const operator = { role: 'operator' as const };
  const admin = { role: 'admin' as const };
  const errors = { 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply };

  app.get(
    '/api/v1/health',
    { schema: { response: { 200: Obj({ status: Type.String(), components: Type.Array(Obj({})) }) } } },
    async () => {
      const comps = [
        ...miner.chains.map((c) => ({
          name: c.name,
          state: c.state,
          reason: c.stateReason,
          ok: c.state === 'mining' || c.state === 'paused',
        })),
        ...miner.pools.pools.map((p) => ({
          name: `pool${p.id}`,
          state: p.health,
          ok: p.health === 'alive' || p.health === 'disabled',
        })),
        { name: 'fans', state: miner.fans.failed.size ? 'failed' : 'ok', ok: miner.fans.failed.size === 0 },
      ];
      const mining = miner.chains.some((c) => c.state === 'mining') && miner.pools.current !== undefined;
      return { status: mining ? 'ok' : miner.paused ? 'paused' : 'degraded', components: comps };
    },
  );

  app.get('/api/v1/summary', { config: viewer, schema: { response: { 200: SummarySchema, ...errors } } }, async () =>
    miner.summary(),
  );

  app.get(
    '/api/v1/stats',
    {
      config: viewer,
      schema: { response: { 200: Obj({ device: Obj({}), hashrateHs: Type.Number(), uptimeS: Type.Number() }) } },
    },
    async () => {
      const s = miner.summary();
      return {
        device: {
          model: 'Maijie L7',
          daemon: `asicd ${VERSION}`,
          boards: miner.chains.map((c) => ({
            board: c.index,
            boardId: c.info.boardId,
            fwVersion: c.info.fwVersion,
            chips: c.chips.length,
          })),
        },
        hashrateHs: s.hashrate.h1m,
        hashrate: s.hashrate,
        uptimeS: s.uptimeS,
      };
    },
  );

  app.get('/api/v1/boards', { config: viewer, schema: { response: { 200: Type.Array(BoardSchema) } } }, async () =>
    miner.chains.map(boardView),
  );

  const board = (id: number) => {
    const c = miner.chains[id];
    if (!c) throw Object.assign(new Error(`no board ${id}`), { statusCode: 404 });
    return c;
  };
  app.get<{ Params: Static<typeof BoardId> }>(
    '/api/v1/boards/:board',
    { config: viewer, schema: { params: BoardId, response: { 200: BoardSchema, ...errors } } },
    async (req) => boardView(board(req.params.board)),
  );
  app.get<{ Params: Static<typeof BoardId> }>(
    '/api/v1/boards/:board/chips',
    {
      config: viewer,
      schema: { params: BoardId, response: { 200: Type.Array(Obj({ chip: Type.Integer() })), ...errors } },
    },
    async (req) => chipViews(board(req.params.board)),
  );
  const LocateBody = Type.Object({ on: Type.Boolean() }, { additionalProperties: false });
  app.post<{ Params: Static<typeof BoardId>; Body: Static<typeof LocateBody> }>(
    '/api/v1/boards/:board/locate',
    { config: operator, schema: { params: BoardId, body: LocateBody, response: { 200: Ok, ...errors } } },
    async (req) => {
      await board(req.params.board).locate(req.body.on);
      return { ok: true, message: req.body.on ? 'LED blinking' : 'LED off' };
    },
  );

  app.get('/api/v1/pools', { config: viewer, schema: { response: { 200: Type.Array(PoolSchema) } } }, async () =>
    poolsView(miner),
  );
  app.post<{ Body: Static<typeof NewPool> }>(
    '/api/v1/pools',
    { config: operator, schema: { body: NewPool, response: { 201: PoolSchema, ...errors } } },
    async (req, reply) => {
      const b = req.body;
      const cfg = validateConfig(
        { ...miner.config, pools: [...miner.config.pools, { ...b }] },
        'request body',
      ).pools.at(-1);
      if (!cfg) throw new Error('pool not added');
      const e = miner.pools.add(cfg);
      return reply.code(201).send(poolView(e, miner.pools.current === e));
    },
  );
  app.delete<{ Params: Static<typeof PoolId> }>(
    '/api/v1/pools/:pool',
    { config: operator, schema: { params: PoolId, response: { 200: Ok, ...errors } } },
    async (req) => {
      await miner.pools.remove(req.params.pool);
      return { ok: true, message: `pool ${req.params.pool} removed` };
    },
  );
  for (const action of ['enable', 'disable', 'switch'] as const) {
    app.post<{ Params: Static<typeof PoolId> }>(
      `/api/v1/pools/:pool/${action}`,
      { config: operator, schema: { params: PoolId, response: { 200: Ok, ...errors } } },
      async (req) => {
        const id = req.params.pool;
        if (action === 'enable') miner.pools.enable(id);
        else if (action === 'disable') miner.pools.disable(id);
        else miner.pools.switchTo(id);
        return { ok: true, message: `pool ${id}: ${action} done` };
      },
    );
  }
  app.patch<{ Params: Static<typeof PoolId>; Body: Static<typeof PoolPatch> }>(
    '/api/v1/pools/:pool',
    { config: operator, schema: { params: PoolId, body: PoolPatch, response: { 200: PoolSchema, ...errors } } },
    async (req) => {
      const id = req.params.pool;
      if (req.body.priority !== undefined) miner.pools.setPriority(id, req.body.priority);
      if (req.body.quota !== undefined) miner.pools.setQuota(id, req.body.quota);
      const p = miner.pools.find(id);
      return poolView(p, miner.pools.current === p);
    },
  );
  app.get(
    '/api/v1/strategy',
    { config: viewer, schema: { response: { 200: Obj({ strategy: Type.String() }) } } },
    async () => miner.pools.poolSettings,
  );
  app.put<{ Body: Static<typeof StrategyBody> }>(
    '/api/v1/strategy',
    {
      config: operator,
      schema: { body: StrategyBody, response: { 200: Obj({ strategy: Type.String() }), ...errors } },
    },
    async (req) => {
      const next = validateConfig(
        { ...miner.config, pool: { ...miner.pools.poolSettings, ...req.body } },
        'request body',
      ).pool;
      miner.pools.setStrategy(next);
      return next;
    },
  );

  app.get('/api/v1/config', { config: operator, schema: { response: { 200: Obj({}) } } }, async () =>
    redactConfig(ctx.currentConfig()),
  );
  app.patch<{ Body: Record<string, unknown> }>(
    '/api/v1/config',
    {
      config: admin,
      schema: {
        body: Type.Object({}, { additionalProperties: true, maxProperties: 20 }),
        response: {
          200: Obj({ applied: Type.Array(Type.String()), needRestart: Type.Array(Type.String()) }),
          ...errors,
        },
      },
    },
    async (req, reply) => {
      if ('pools' in req.body)
        return reply
          .code(400)
          .send({ error: 'pools are changed through /api/v1/pools (passwords are never sent back)' });
      let next: Config;
      try {
        next = validateConfig(merge(ctx.currentConfig(), req.body), 'request body');
      } catch (err) {
        if (err instanceof ConfigError)
          return reply
            .code(400)
            .send({ error: 'invalid configuration', details: err.issues.map((i) => `${i.path}: ${i.message}`) });
        throw err;
      }
      if (ctx.configFile)
        writeFileAtomic(
          ctx.configFile,
          `# written by asicd ${VERSION} after an API change\n${stringify(next)}\n`,
          0o600,
        );
      const r = ctx.applyConfig(next);
      miner.config = next;
      return r;
    },
  );

  app.post('/api/v1/mining/pause', { config: operator, schema: { response: { 200: Ok, ...errors } } }, async () => {
    await miner.pause();
    return { ok: true, message: 'boards powered off; resume with /api/v1/mining/resume' };
  });
  app.post('/api/v1/mining/resume', { config: operator, schema: { response: { 200: Ok, ...errors } } }, async () => {
    await miner.resume();
    return { ok: true, message: 'boards coming back up' };
  });
  app.post('/api/v1/restart', { config: operator, schema: { response: { 200: Ok, ...errors } } }, async () => {
    void miner.restart();
    return { ok: true, message: 'boards re-initialising, pools reconnecting' };
  });

  app.get<{ Querystring: Static<typeof Lines> }>(
    '/api/v1/logs',
    { config: operator, schema: { querystring: Lines, response: { 200: Type.Array(Obj({})) } } },
    async (req) => recentLogs.recent(req.query.lines ?? 100).map((l) => JSON.parse(l) as Record<string, unknown>),
  );
  app.get<{ Querystring: Static<typeof Lines> }>(
    '/api/v1/audit',
    { config: admin, schema: { querystring: Lines, response: { 200: Type.Array(Obj({})) } } },
    async (req) => audit.recent(req.query.lines ?? 100),
  );

  app.get(
    '/api/v1/tokens',
    {
      config: admin,
      schema: { response: { 200: Type.Array(Obj({ id: Type.String(), name: Type.String(), role: Type.String() })) } },
    },
    async () => tokens.list(),
  );
  app.post<{ Body: Static<typeof TokenBody> }>(
    '/api/v1/tokens',
    {
      config: admin,
      schema: { body: TokenBody, response: { 201: Obj({ token: Type.String(), id: Type.String() }), ...errors } },
    },
    async (req, reply) => {
      const { token, info } = tokens.create(req.body.name, req.body.role);
      return reply.code(201).send({ ...info, token, note: 'shown once: store it now' });
    },
  );
  const TokenId = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{12}$' }) });
  app.delete<{ Params: Static<typeof TokenId> }>(
    '/api/v1/tokens/:id',
    { config: admin, schema: { params: TokenId, response: { 200: Ok, ...errors } } },
    async (req, reply) => {
      try {
        if (!tokens.revoke(req.params.id)) return reply.code(404).send({ error: `no token ${req.params.id}` });
      } catch (err) {
        return reply.code(409).send({ error: (err as Error).message });
      }
      return { ok: true, message: 'revoked' };
    },
  );

  const registry = createMetrics(miner);
  app.get('/metrics', { config: viewer, schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  registerWebSocket(app, miner, viewer);
  return { app, tokens, audit };
}

/** The HTTP API as a daemon component. */
export class ApiServer implements Component {
  readonly name = 'api';
  app: FastifyInstance | undefined;
  tokens: TokenStore | undefined;

  constructor(private readonly deps: ApiDeps) {}

  get miner(): Miner {
    return this.deps.miner;
  }

  async start(): Promise<void> {
    const { app, tokens } = await buildApp(this.deps);
    this.app = app;
    this.tokens = tokens;
    const { host, port } = this.deps.config.api;
    await app.listen({ host, port });
    this.deps.log.info({ url: `http://${host}:${port}`, docs: `http://${host}:${port}/docs` }, 'API listening');
  }

  async stop(): Promise<void> {
    await this.app?.close();
  }
}
