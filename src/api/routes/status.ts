import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { VERSION } from '../../version.js';
import type { ApiContext } from '../context.js';
import { errors, Obj, viewer, Windows } from '../schemas.js';
import { healthView } from '../views.js';

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

/** Health, summary and device stats. */
export const statusRoutes: FastifyPluginAsync<ApiContext> = async (app, { miner }) => {
  app.get(
    '/api/v1/health',
    {
      schema: {
        summary: 'Health of boards, pools, fans and the safety supervisor: 503 unless every component is ok',
        response: {
          200: Obj({ status: Type.String(), components: Type.Array(Obj({})) }),
          503: Obj({ status: Type.String(), components: Type.Array(Obj({})) }),
        },
      },
    },
    async (_req, reply) => {
      // 503 unless every component is fine: a load balancer or a fleet check reads the code alone
      const h = healthView(miner);
      if (h.status === 'degraded') reply.code(503);
      return h;
    },
  );

  app.get(
    '/api/v1/summary',
    {
      config: viewer,
      schema: { summary: 'Hash rate, shares, power and efficiency', response: { 200: SummarySchema, ...errors } },
    },
    async () => miner.summary(),
  );

  app.get(
    '/api/v1/stats',
    {
      config: viewer,
      schema: {
        summary: 'Device model, boards and hash rate',
        response: { 200: Obj({ device: Obj({}), hashrateHs: Type.Number(), uptimeS: Type.Number() }) },
      },
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
};
