import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.js';
import { createMetrics } from '../metrics.js';
import { viewer } from '../schemas.js';

/** Prometheus /metrics. */
export const metricsRoutes: FastifyPluginAsync<ApiContext> = async (app, { miner }) => {
  const registry = createMetrics(miner);
  app.get('/metrics', { config: viewer, schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
};
