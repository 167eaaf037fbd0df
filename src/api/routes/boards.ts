import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.js';
import { errors, Obj, Ok, operator, viewer, Windows } from '../schemas.js';
import { boardView, chipViews } from '../views.js';

const BoardSchema = Obj({
  board: Type.Integer(),
  state: Type.String(),
  hashrate: Windows,
  frequencyMHz: Type.Number(),
  wantedFrequencyMHz: Type.Number({ description: 'configured or set by an operator; throttling stays at or below it' }),
  throttled: Type.Boolean({ description: 'running below wantedFrequencyMHz because the chips were hot' }),
  throttleSteps: Type.Integer({ description: 'thermal throttling steps down and up since start' }),
});
// any board number: one that is not there is a 404, whatever its number
const BoardId = Type.Object({ board: Type.Integer({ minimum: 0, maximum: 1_000_000 }) });
const LocateBody = Type.Object({ on: Type.Boolean() }, { additionalProperties: false });

/** Boards, their chips, and the locate LED. */
export const boardRoutes: FastifyPluginAsync<ApiContext> = async (app, { miner }) => {
  app.get(
    '/api/v1/boards',
    {
      config: viewer,
      schema: {
        summary: 'Every board: state, frequency, hash rate, temperatures',
        response: { 200: Type.Array(BoardSchema) },
      },
    },
    async () => miner.chains.map(boardView),
  );

  const board = (id: number) => {
    const c = miner.chains[id];
    if (!c) throw Object.assign(new Error(`no board ${id}`), { statusCode: 404 });
    return c;
  };
  app.get<{ Params: Static<typeof BoardId> }>(
    '/api/v1/boards/:board',
    { config: viewer, schema: { summary: 'One board', params: BoardId, response: { 200: BoardSchema, ...errors } } },
    async (req) => boardView(board(req.params.board)),
  );
  app.get<{ Params: Static<typeof BoardId> }>(
    '/api/v1/boards/:board/chips',
    {
      config: viewer,
      schema: {
        summary: "One board's chips: nonces, errors, hash rate",
        params: BoardId,
        response: { 200: Type.Array(Obj({ chip: Type.Integer() })), ...errors },
      },
    },
    async (req) => chipViews(board(req.params.board)),
  );
  app.post<{ Params: Static<typeof BoardId>; Body: Static<typeof LocateBody> }>(
    '/api/v1/boards/:board/locate',
    {
      config: operator,
      schema: {
        summary: "Blink a board's LED (or stop it)",
        params: BoardId,
        body: LocateBody,
        response: { 200: Ok, ...errors },
      },
    },
    async (req) => {
      await board(req.params.board).locate(req.body.on);
      return { ok: true, message: req.body.on ? 'LED blinking' : 'LED off' };
    },
  );
};
