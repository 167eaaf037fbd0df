import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.js';
import { errors, Ok, operator } from '../schemas.js';

/** Pause (curtailment), resume and restart of mining. */
export const miningRoutes: FastifyPluginAsync<ApiContext> = async (app, { miner }) => {
  app.post(
    '/api/v1/mining/pause',
    {
      config: operator,
      schema: { summary: 'Pause mining: every board powered off (curtailment)', response: { 200: Ok, ...errors } },
    },
    async () => {
      await miner.pause();
      return { ok: true, message: 'boards powered off; resume with /api/v1/mining/resume' };
    },
  );
  app.post(
    '/api/v1/mining/resume',
    { config: operator, schema: { summary: 'Resume mining after a pause', response: { 200: Ok, ...errors } } },
    async () => {
      await miner.resume();
      return { ok: true, message: 'boards coming back up' };
    },
  );
  app.post(
    '/api/v1/restart',
    {
      config: operator,
      schema: { summary: 'Re-initialise every board and reconnect every pool', response: { 200: Ok, ...errors } },
    },
    async () => {
      void miner.restart();
      return { ok: true, message: 'boards re-initialising, pools reconnecting' };
    },
  );
};
