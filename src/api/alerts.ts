import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { RULES } from '../monitor/alerts/rules.js';
import type { ApiContext } from './context.js';
import { operator, viewer } from './schemas.js';

const Severity = Type.Union([Type.Literal('warning'), Type.Literal('critical')]);
const Rule = Type.Union([...RULES, 'test'].map((r) => Type.Literal(r)));
const Event = Type.Object({
  id: Type.Integer(),
  atMs: Type.Number(),
  rule: Rule,
  subject: Type.String(),
  state: Type.Union([Type.Literal('firing'), Type.Literal('resolved')]),
  severity: Severity,
  message: Type.String(),
  value: Type.Optional(Type.Number()),
  threshold: Type.Optional(Type.Number()),
  miner: Type.String(),
});
const Active = Type.Object({
  rule: Rule,
  subject: Type.String(),
  severity: Severity,
  sinceMs: Type.Number(),
  message: Type.String(),
  value: Type.Optional(Type.Number()),
});
const Query = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, default: 100 })) },
  { additionalProperties: false },
);
const Delivery = Type.Object({
  sent: Type.Integer(),
  failed: Type.Integer(),
  dropped: Type.Integer(),
  queued: Type.Integer(),
});

/** GET /api/v1/alerts (firing alerts and history, newest first); POST /api/v1/alerts/test (a test notification). */
export const alertRoutes: FastifyPluginAsync<ApiContext> = async (app, { miner }) => {
  app.get<{ Querystring: Static<typeof Query> }>(
    '/api/v1/alerts',
    {
      config: viewer,
      schema: {
        querystring: Query,
        response: {
          200: Type.Object({
            active: Type.Array(Active),
            history: Type.Array(Event, { description: 'newest first' }),
            notifiers: Type.Record(Type.String(), Delivery),
          }),
        },
      },
    },
    async (req) => ({
      active: miner.alerts.active(),
      history: miner.alerts.history.recent(req.query.limit ?? 100).reverse(),
      notifiers: Object.fromEntries([...miner.notifier.queues].map(([k, q]) => [k, q.stats])),
    }),
  );
  app.post(
    '/api/v1/alerts/test',
    {
      config: operator,
      schema: { response: { 200: Type.Object({ ok: Type.Boolean(), message: Type.String() }) } },
    },
    async () => {
      const to = miner.notifier.publish({
        id: 0,
        atMs: Date.now(),
        rule: 'test',
        subject: 'notifiers',
        state: 'firing',
        severity: 'critical',
        message: 'test notification: alerts reach you',
        miner: miner.alerts.minerName,
      });
      return {
        ok: to.length > 0,
        message: to.length
          ? `queued for ${to.join(', ')}; see GET /api/v1/alerts for delivery`
          : 'no notifier configured',
      };
    },
  );
};
