import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ConfigError } from '../../config/load.js';
import { type Config, redactSecrets } from '../../config/schema.js';
import type { ApiContext } from '../context.js';
import { admin, errors, Obj, operator } from '../schemas.js';

const REDACTED = '[REDACTED]';

export function redactConfig(c: Config): Config {
  return redactSecrets(c, REDACTED);
}

/** Deep merge of a JSON patch into a config (arrays and scalars replace). */
function merge(base: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) out[k] = merge(out[k], v);
  return out;
}

/** How deep a config patch may nest: the config itself is two levels deep (section, key). */
const MAX_PATCH_DEPTH = 4;

function depthOf(v: unknown, limit: number): number {
  if (v === null || typeof v !== 'object') return 0;
  if (limit <= 0) return 1;
  let d = 0;
  for (const x of Object.values(v)) d = Math.max(d, depthOf(x, limit - 1));
  return d + 1;
}

/** The running configuration: read it (secrets redacted), change it. */
export const configRoutes: FastifyPluginAsync<ApiContext> = async (app, { ctx }) => {
  app.get(
    '/api/v1/config',
    {
      config: operator,
      schema: {
        summary: 'The configuration that runs now (passwords redacted)',
        description:
          'Settings saved but waiting for a restart are listed in the X-Asicd-Pending-Restart header; the config version in X-Asicd-Config-Version.',
        response: { 200: Obj({}) },
      },
    },
    async (_req, reply) => {
      const store = ctx.store;
      reply.header('x-asicd-config-version', String(store.version));
      if (store.pendingRestart.length) reply.header('x-asicd-pending-restart', store.pendingRestart.join(','));
      return redactConfig(store.running);
    },
  );
  app.patch<{ Body: Record<string, unknown> }>(
    '/api/v1/config',
    {
      config: admin,
      schema: {
        summary: 'Change settings (validated as a whole, saved, applied live where possible)',
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
      if (depthOf(req.body, MAX_PATCH_DEPTH + 1) > MAX_PATCH_DEPTH)
        return reply
          .code(400)
          .send({ error: `body nests deeper than ${MAX_PATCH_DEPTH} levels; settings are section.key` });
      try {
        return ctx.store.update('request body', (c) => merge(c, req.body));
      } catch (err) {
        if (err instanceof ConfigError)
          return reply
            .code(400)
            .send({ error: 'invalid configuration', details: err.issues.map((i) => `${i.path}: ${i.message}`) });
        throw err;
      }
    },
  );
};
