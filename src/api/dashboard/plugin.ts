import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { viewer } from '../schemas.js';
import { fansView } from '../views.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The page's own scripts only, talking to this daemon only; never framed by another site. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

function asset(name: string, body: Buffer): Asset {
  return {
    type: TYPES[extname(name)] ?? 'application/octet-stream',
    body,
    gzip: gzipSync(body, { level: 9 }),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`,
  };
}

/**
 * Every file the page needs, read once at start: ours from `public/` beside this module (copied next to the built
 * module by `npm run build`), uPlot from its package. Only these names are served: no path reaches the disk.
 */
export function dashboardAssets(): Map<string, Asset> {
  const dir = fileURLToPath(new URL('./public/', import.meta.url));
  const out = new Map<string, Asset>();
  for (const name of readdirSync(dir)) out.set(name, asset(name, readFileSync(join(dir, name))));
  const require = createRequire(import.meta.url);
  for (const [name, file] of [
    ['uPlot.min.js', 'uplot/dist/uPlot.iife.min.js'],
    ['uPlot.min.css', 'uplot/dist/uPlot.min.css'],
  ]) {
    out.set(name, asset(name, readFileSync(require.resolve(file))));
  }
  return out;
}

const HistoryQuery = Type.Object(
  {
    from: Type.Optional(Type.Integer({ minimum: 0, description: 'Unix seconds; default: as far back as kept' })),
    to: Type.Optional(Type.Integer({ minimum: 0, description: 'Unix seconds; default: now' })),
    points: Type.Optional(
      Type.Integer({ minimum: 10, maximum: 5000, default: 1000, description: 'at most about this many rows' }),
    ),
  },
  { additionalProperties: false },
);
const Nums = Type.Array(Type.Union([Type.Number(), Type.Null()]));
const HistoryReply = Type.Object({
  intervalS: Type.Integer(),
  stepS: Type.Integer(),
  retentionS: Type.Integer(),
  t: Type.Array(Type.Integer()),
  hashrateHs: Nums,
  powerW: Nums,
  boards: Type.Array(Type.Object({ board: Type.Integer(), hashrateHs: Nums, powerW: Nums, maxChipC: Nums })),
  pools: Type.Array(Type.Object({ pool: Type.String(), accepted: Nums, rejected: Nums })),
});
const FanSchema = Type.Object({
  pwm: Type.Integer({ description: 'drive 0–255 the fan controller set' }),
  failed: Type.Array(Type.Integer()),
  noAirflow: Type.Boolean({ description: 'too few working fans: every board is held off' }),
  fans: Type.Array(
    Type.Object({ fan: Type.Integer(), rpm: Type.Number(), pwm: Type.Number(), failed: Type.Boolean() }),
  ),
});

/**
 * The web dashboard: the page and its assets at `/` (public: they hold no data), and the reads it needs beyond the
 * REST API: history, fans, and who the caller is (to offer actions only to operators).
 */
export const dashboardPlugin: FastifyPluginAsync<ApiContext> = async (app, { miner }) => {
  const assets = dashboardAssets();
  const serve = (name: string) => async (req: FastifyRequest, reply: FastifyReply) => {
    const a = assets.get(name);
    if (!a) return reply.code(404).send({ error: `no asset ${name}` });
    reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache', etag: a.etag, vary: 'accept-encoding' });
    if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
    reply.type(a.type);
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      reply.header('content-encoding', 'gzip');
      return reply.send(a.gzip);
    }
    return reply.send(a.body);
  };
  app.get('/', { schema: { hide: true } }, serve('index.html'));
  const AssetName = Type.Object({ name: Type.String({ pattern: '^[\\w.-]+$', maxLength: 64 }) });
  app.get<{ Params: Static<typeof AssetName> }>(
    '/ui/:name',
    { schema: { hide: true, params: AssetName } },
    async (req, reply) => serve(req.params.name)(req, reply),
  );

  app.get(
    '/api/v1/whoami',
    {
      config: viewer,
      schema: { response: { 200: Type.Object({ name: Type.String(), role: Type.String() }) } },
    },
    async (req) => ({ name: req.caller?.name ?? 'unknown', role: req.caller?.role ?? 'viewer' }),
  );

  app.get('/api/v1/fans', { config: viewer, schema: { response: { 200: FanSchema } } }, async () => fansView(miner));

  app.get<{ Querystring: Static<typeof HistoryQuery> }>(
    '/api/v1/history',
    {
      config: viewer,
      schema: {
        description:
          'Hash rate and power (total and per board, means), hottest chip per board (maximum) and shares per pool (sums) per step, kept across restarts. A null row marks a gap (the daemon was not running).',
        querystring: HistoryQuery,
        response: { 200: HistoryReply },
      },
    },
    async (req) => {
      const h = miner.history;
      const nowS = Math.ceil(Date.now() / 1000);
      const to = req.query.to ?? nowS;
      const from = req.query.from ?? 0;
      return {
        intervalS: h.intervalS,
        retentionS: h.settings.days * 86_400,
        ...h.store.series(from, to, req.query.points ?? 1000, h.intervalS),
      };
    },
  );
};
