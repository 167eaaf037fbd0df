import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ConfigError, validateConfig } from '../../config/load.js';
import type { PoolConfig } from '../../config/schema.js';
import type { ApiContext } from '../context.js';
import { errors, Obj, Ok, operator, viewer } from '../schemas.js';
import { poolsView, poolView } from '../views.js';

const PoolSchema = Obj({
  pool: Type.Integer(),
  url: Type.String(),
  user: Type.String(),
  status: Type.String(),
  priority: Type.Integer(),
});
const PoolId = Type.Object({ pool: Type.Integer({ minimum: 0, maximum: 1_000_000 }) });
const NewPool = Type.Object(
  {
    url: Type.String({
      pattern: '^stratum\\+(tcp|ssl|tls)://[^\\s/:]+:[0-9]{1,5}$',
      maxLength: 300,
      errorMessage: 'expected stratum+tcp://host:port or stratum+ssl://host:port (port 1-65535)',
    }),
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

/** Pools (list, add, remove, enable/disable/switch, priority and quota) and the pool strategy. */
export const poolRoutes: FastifyPluginAsync<ApiContext> = async (app, { miner }) => {
  app.get(
    '/api/v1/pools',
    {
      config: viewer,
      schema: { summary: 'Every pool with its status and share counts', response: { 200: Type.Array(PoolSchema) } },
    },
    async () => poolsView(miner),
  );
  app.post<{ Body: Static<typeof NewPool> }>(
    '/api/v1/pools',
    {
      config: operator,
      schema: {
        summary: 'Add a pool (lowest priority unless one is given)',
        body: NewPool,
        response: { 201: PoolSchema, ...errors },
      },
    },
    async (req, reply) => {
      const b = req.body;
      // a new pool is a backup unless told otherwise: below every pool there is
      const priority =
        b.priority ?? Math.min(999, Math.max(-1, ...miner.pools.pools.map((p) => p.config.priority)) + 1);
      let cfg: PoolConfig | undefined;
      try {
        cfg = validateConfig(
          { ...miner.config, pools: [...miner.config.pools, { ...b, priority }] },
          'request body',
        ).pools.at(-1);
      } catch (err) {
        if (err instanceof ConfigError)
          return reply.code(400).send({
            error: 'invalid pool',
            details: err.issues.map((i) => `${i.path.replace(/^pools\[\d+\]\.?/, '')}: ${i.message}`),
          });
        throw err;
      }
      if (!cfg) throw new Error('pool not added');
      const e = miner.pools.add(cfg);
      reply.auditTarget = `pool ${e.id} ${cfg.url}`;
      return reply.code(201).send(poolView(e, miner.pools.current === e, miner.pools.poolSettings.version_rolling));
    },
  );
  app.delete<{ Params: Static<typeof PoolId> }>(
    '/api/v1/pools/:pool',
    { config: operator, schema: { summary: 'Remove a pool', params: PoolId, response: { 200: Ok, ...errors } } },
    async (req) => {
      await miner.pools.remove(req.params.pool);
      return { ok: true, message: `pool ${req.params.pool} removed` };
    },
  );
  for (const action of ['enable', 'disable', 'switch'] as const) {
    app.post<{ Params: Static<typeof PoolId> }>(
      `/api/v1/pools/:pool/${action}`,
      {
        config: operator,
        schema: { summary: 'Enable, disable or switch to a pool', params: PoolId, response: { 200: Ok, ...errors } },
      },
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
    {
      config: operator,
      schema: {
        summary: "Change a pool's priority or quota",
        params: PoolId,
        body: PoolPatch,
        response: { 200: PoolSchema, ...errors },
      },
    },
    async (req) => {
      const id = req.params.pool;
      if (req.body.priority !== undefined) miner.pools.setPriority(id, req.body.priority);
      if (req.body.quota !== undefined) miner.pools.setQuota(id, req.body.quota);
      const p = miner.pools.find(id);
      return poolView(p, miner.pools.current === p, miner.pools.poolSettings.version_rolling);
    },
  );
  app.get(
    '/api/v1/strategy',
    {
      config: viewer,
      schema: { summary: 'The pool strategy and its settings', response: { 200: Obj({ strategy: Type.String() }) } },
    },
    async () => miner.pools.poolSettings,
  );
  app.put<{ Body: Static<typeof StrategyBody> }>(
    '/api/v1/strategy',
    {
      config: operator,
      schema: {
        summary: 'Change the pool strategy',
        body: StrategyBody,
        response: { 200: Obj({ strategy: Type.String() }), ...errors },
      },
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
};
