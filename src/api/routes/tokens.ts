import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.js';
import { admin, errors, Obj, Ok } from '../schemas.js';

const TokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[\\w .@-]+$' }),
    role: Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('viewer')]),
  },
  { additionalProperties: false },
);
const TokenId = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{12}$' }) });

/** API tokens: list, create (shown once), revoke. */
export const tokenRoutes: FastifyPluginAsync<ApiContext> = async (app, { tokens }) => {
  app.get(
    '/api/v1/tokens',
    {
      config: admin,
      schema: {
        summary: 'API tokens (never the tokens themselves)',
        response: { 200: Type.Array(Obj({ id: Type.String(), name: Type.String(), role: Type.String() })) },
      },
    },
    async () => tokens.list(),
  );
  app.post<{ Body: Static<typeof TokenBody> }>(
    '/api/v1/tokens',
    {
      config: admin,
      schema: {
        summary: 'Create a token (shown once)',
        body: TokenBody,
        response: { 201: Obj({ token: Type.String(), id: Type.String() }), ...errors },
      },
    },
    async (req, reply) => {
      const { token, info } = tokens.create(req.body.name, req.body.role);
      reply.auditTarget = `token ${info.id} ${info.role}`;
      return reply.code(201).send({ ...info, token, note: 'shown once: store it now' });
    },
  );
  app.delete<{ Params: Static<typeof TokenId> }>(
    '/api/v1/tokens/:id',
    { config: admin, schema: { summary: 'Revoke a token', params: TokenId, response: { 200: Ok, ...errors } } },
    async (req, reply) => {
      try {
        if (!tokens.revoke(req.params.id)) return reply.code(404).send({ error: `no token ${req.params.id}` });
      } catch (err) {
        return reply.code(409).send({ error: (err as Error).message });
      }
      return { ok: true, message: 'revoked' };
    },
  );
};
