import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Miner } from '../miner.js';
import type { ApiContext } from './context.js';
import { operator, viewer } from './schemas.js';

// REST for auto-tuning: GET /api/v1/tuning (mode, targets, each board's stage, progress, voltage, per-chip
// frequency and error rate, the measured efficiency curve) and PUT /api/v1/tuning (mode, targets, re-tune, reset
// profiles). Power is in real-sized watts (a scale model's POWER_W times 2^s), hash rate in H/s of the chips' clocks.

const Put = Type.Object(
  {
    // one enum rather than a union of literals: a bad mode gets one error naming the modes, not one per literal
    mode: Type.Optional(
      Type.Unsafe<Config['tuning']['mode']>({
        type: 'string',
        enum: ['off', 'efficiency', 'hashrate', 'power'],
        errorMessage: 'expected one of off, efficiency, hashrate, power',
      }),
    ),
    power_target_w: Type.Optional(Type.Integer({ minimum: 100, maximum: 10000 })),
    hashrate_target_ths: Type.Optional(Type.Number({ minimum: 1, maximum: 1000 })),
    retune: Type.Optional(Type.Boolean({ description: 'tune again from scratch (every board, or `board`)' })),
    reset_profiles: Type.Optional(Type.Boolean({ description: 'delete stored profiles (every board, or `board`)' })),
    board: Type.Optional(Type.Integer({ minimum: 0, maximum: 3 })),
  },
  { additionalProperties: false },
);

export function tuningView(miner: Miner) {
  const tuner = miner.tuner;
  const s = tuner.settings;
  return {
    mode: s.mode,
    powerTargetW: s.power_target_w,
    hashrateTargetThs: s.hashrate_target_ths,
    maxHwErrorRate: s.max_hw_error_rate,
    boards: tuner.boards().map(({ chain, tuner: t, boardId, derate }) => {
      const counts = chain.chipCounts();
      const freqs = chain.chipMHz;
      const idealHs = chain.idealHashrateHs * 2 ** chain.scaleShift;
      return {
        board: chain.index,
        boardId,
        stage: t?.stage ?? (s.mode === 'off' ? 'off' : 'waiting'),
        progress: t?.progress ?? 0,
        reason: t?.lastReason ?? '',
        failedSteps: t ? { ...t.fails } : { errors: 0, rate: 0 },
        lastRateFail: t?.lastRateFail ?? null,
        voltageMv: chain.voltageMv,
        powerW: chain.readings.heatW,
        powerTargetW: t?.targets.powerW ?? null,
        powerCapW: t?.targets.capW ?? null,
        derateSteps: derate.steps,
        hashrateHs: idealHs,
        jPerTh: idealHs > 0 ? chain.readings.heatW / (idealHs / 1e12) : 0,
        chips: counts.map((k, i) => ({
          chip: k.chip,
          freqMHz: freqs[i] ?? 0,
          limitMHz: t?.limitsMHz[i] ?? null,
          dead: t?.dead.has(i) ?? false,
          hwErrorRate: k.nonces + k.hwErrors > 0 ? k.hwErrors / (k.nonces + k.hwErrors) : 0,
        })),
        curve: t?.curve ?? [],
      };
    }),
  };
}

/** GET/PUT /api/v1/tuning. */
export const tuningRoutes: FastifyPluginAsync<ApiContext> = async (app, { miner, ctx }) => {
  app.get('/api/v1/tuning', { config: viewer }, async () => tuningView(miner));
  app.put<{ Body: Static<typeof Put> }>(
    '/api/v1/tuning',
    { config: operator, schema: { body: Put } },
    async (req, reply) => {
      const b = req.body;
      const tuner = miner.tuner;
      // a board this miner does not have: refused, not answered 200 with nothing retuned or reset
      const indices = tuner.boards().map((x) => x.chain.index);
      if (b.board !== undefined && !indices.includes(b.board))
        return reply
          .code(400)
          .send({ error: `no board ${b.board}`, details: [`body.board: this miner has boards ${indices.join(', ')}`] });
      const change = {
        ...(b.mode !== undefined ? { mode: b.mode } : {}),
        ...(b.power_target_w !== undefined ? { power_target_w: b.power_target_w } : {}),
        ...(b.hashrate_target_ths !== undefined ? { hashrate_target_ths: b.hashrate_target_ths } : {}),
      };
      if (Object.keys(change).length) {
        // through the one config store, as every other setting: saved to the file (atomically, never an
        // environment override) so it survives a restart, then applied live (the miner reconfigures the tuner)
        try {
          ctx.store.update('PUT /api/v1/tuning', (c) => {
            const next = c as Config;
            return { ...next, tuning: { ...next.tuning, ...change } };
          });
        } catch (err) {
          if (err instanceof ConfigError)
            return reply
              .code(400)
              .send({ error: 'invalid tuning setting', details: err.issues.map((i) => `${i.path}: ${i.message}`) });
          throw err;
        }
      }
      const removed = b.reset_profiles ? tuner.resetProfiles(b.board) : 0;
      const retuned = b.retune ? tuner.retune(b.board) : 0;
      return { ...tuningView(miner), removedProfiles: removed, retunedBoards: retuned };
    },
  );
};
