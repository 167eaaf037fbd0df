import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { recentLogs } from '../../util/log.js';
import type { ApiContext } from '../context.js';
import { admin, Lines, Obj, operator } from '../schemas.js';

/** Recent daemon log lines and the audit log of writes. */
export const logRoutes: FastifyPluginAsync<ApiContext> = async (app, { audit }) => {
  app.get<{ Querystring: Static<typeof Lines> }>(
    '/api/v1/logs',
    {
      config: operator,
      schema: { summary: 'Recent daemon log lines', querystring: Lines, response: { 200: Type.Array(Obj({})) } },
    },
    async (req) => recentLogs.recent(req.query.lines ?? 100).map((l) => JSON.parse(l) as Record<string, unknown>),
  );
  app.get<{ Querystring: Static<typeof Lines> }>(
    '/api/v1/audit',
    {
      config: admin,
      schema: {
        summary: 'Recent writes through the API (who, what, result)',
        querystring: Lines,
        response: { 200: Type.Array(Obj({})) },
      },
    },
    async (req) => audit.recent(req.query.lines ?? 100),
  );
};
