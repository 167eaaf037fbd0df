import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { ApiContext } from '../context.js';
import { viewer } from '../schemas.js';

/**
 * Prometheus /metrics. prom-client and the registry are loaded at the first scrape, not at start: a miner nobody
 * scrapes keeps ~2 MB of heap (the library, its default collectors, the event loop delay histogram) for mining.
 * Every metric is read from the miner at scrape time, so a registry made late reports the same; the default
 * process collectors (GC time, event loop delay) count from the first scrape.
 */
export const metricsRoutes: FastifyPluginAsync<ApiContext> = async (app, { miner }) => {
  let registry: Promise<Registry> | undefined;
  const load = () => {
    registry ??= import('../metrics.js').then(
      (m) => m.createMetrics(miner),
      (err) => {
        registry = undefined;
        throw err;
      },
    );
    return registry;
  };
  app.get('/metrics', { config: viewer, schema: { hide: true } }, async (_req, reply) => {
    const r = await load();
    reply.header('content-type', r.contentType);
    return r.metrics();
  });
};
