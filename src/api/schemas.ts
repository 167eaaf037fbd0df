import { type TSchema, Type } from '@sinclair/typebox';

// TypeBox schemas shared by the REST route plugins (replies are checked against them and shown in the OpenAPI document).

export const Obj = (props: Record<string, TSchema>, description?: string) =>
  Type.Object(props, { additionalProperties: true, description });
export const ErrorReply = Type.Object({ error: Type.String(), details: Type.Optional(Type.Array(Type.String())) });
export const Ok = Type.Object({ ok: Type.Boolean(), message: Type.Optional(Type.String()) });
export const errors = { 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply };

export const Windows = Type.Object({
  h5s: Type.Number(),
  h1m: Type.Number(),
  h5m: Type.Number(),
  h15m: Type.Number(),
  avg: Type.Number(),
});

export const Lines = Type.Object(
  { lines: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) },
  { additionalProperties: false },
);

/** Route options naming the least role a route needs (see the access hook in server.ts). */
export const viewer = { role: 'viewer' as const };
export const operator = { role: 'operator' as const };
export const admin = { role: 'admin' as const };
