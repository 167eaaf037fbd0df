import fastifyWebsocket from '@fastify/websocket';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Config } from '../config/schema.js';
import type { FactoryContext } from '../daemon.js';
import type { Miner } from '../miner.js';
import { PoolOpError } from '../pool/manager/manager.js';
import type { Component } from '../util/lifecycle.js';
import type { Logger } from '../util/log.js';
import { VERSION } from '../version.js';
import { installAccess, MAX_HTTP_CONNECTIONS, WS_PROTOCOL } from './access.js';
import { alertRoutes } from './alerts.js';
import { AuditLog, type Caller, type Role, TokenStore } from './auth.js';
import type { ApiContext } from './context.js';
import { dashboardPlugin } from './dashboard/plugin.js';
import { installLazyDocs } from './docs.js';
import { boardRoutes } from './routes/boards.js';
import { configRoutes } from './routes/config.js';
import { logRoutes } from './routes/logs.js';
import { metricsRoutes } from './routes/metrics.js';
import { miningRoutes } from './routes/mining.js';
import { poolRoutes } from './routes/pools.js';
import { statusRoutes } from './routes/status.js';
import { tokenRoutes } from './routes/tokens.js';
import { tuningRoutes } from './tuning.js';
import { wsRoutes } from './ws.js';

export { redactConfig } from './routes/config.js';

import { type ValidationIssue, validationReply } from './validation-errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** least role a route needs; absent = public */
    role?: Role;
  }
  interface FastifyRequest {
    caller?: Caller;
  }
}

/**
 * The route plugins, one per area, each given the ApiContext. This is the one place plugins are registered: a new
 * area adds its plugin here. Every plugin sees the access hook (roles), the error handler and the body validator.
 */
const PLUGINS: readonly FastifyPluginAsync<ApiContext>[] = [
  statusRoutes,
  boardRoutes,
  poolRoutes,
  configRoutes,
  miningRoutes,
  logRoutes,
  tokenRoutes,
  metricsRoutes,
  wsRoutes,
  dashboardPlugin,
  alertRoutes,
  tuningRoutes,
];

export interface ApiDeps {
  miner: Miner;
  config: Config;
  log: Logger;
  ctx: FactoryContext;
}

/** Builds the HTTP app: REST under /api/v1, WebSocket, /metrics, the OpenAPI document and its docs page. */
export async function buildApp(deps: ApiDeps): Promise<{ app: FastifyInstance; tokens: TokenStore; audit: AuditLog }> {
  const { miner, log } = deps;
  const stateDir = deps.config.daemon.state_dir;
  const tokens = new TokenStore(stateDir, log);
  tokens.load();
  const audit = new AuditLog(stateDir);
  // forceCloseConnections: keep-alive clients must not hold the process after a stop
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, trustProxy: false, forceCloseConnections: true });
  // Bodies are JSON and must carry the right types (no "7" for 7); paths and query strings are text and are coerced.
  const bodyAjv = new Ajv({
    coerceTypes: false,
    useDefaults: true,
    removeAdditional: false,
    strict: false,
    verbose: true,
  });
  const textAjv = new Ajv({
    coerceTypes: 'array',
    useDefaults: true,
    removeAdditional: false,
    strict: false,
    verbose: true,
  });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));

  installLazyDocs(app, {
    info: { title: 'asicd API', version: VERSION, description: 'Operator API of the asicd miner daemon' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
  });
  await app.register(fastifyWebsocket, {
    options: {
      maxPayload: 4096,
      // a client that sends its token as a subprotocol also offers WS_PROTOCOL, which is the one answered
      handleProtocols: (offered: Set<string>) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    },
  });

  app.setErrorHandler(
    (err: Error & { statusCode?: number; validation?: ValidationIssue[]; validationContext?: string }, _req, reply) => {
      if (err.validation) return reply.code(400).send(validationReply(err.validation, err.validationContext ?? 'body'));
      if (err instanceof PoolOpError)
        return reply.code(err.code === 'ENOPOOL' ? 404 : 409).send({ error: err.message });
      if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
      log.error({ err }, 'API request failed');
      return reply.code(500).send({ error: 'internal error; see the daemon log' });
    },
  );

  installAccess(app, { miner, tokens, audit });

  const context: ApiContext = { ...deps, tokens, audit };
  for (const plugin of PLUGINS) await app.register(plugin, context);
  return { app, tokens, audit };
}

/** The HTTP API as a daemon component. */
export class ApiServer implements Component {
  readonly name = 'api';
  app: FastifyInstance | undefined;
  tokens: TokenStore | undefined;

  constructor(private readonly deps: ApiDeps) {}

  get miner(): Miner {
    return this.deps.miner;
  }

  async start(): Promise<void> {
    const { app, tokens } = await buildApp(this.deps);
    this.app = app;
    this.tokens = tokens;
    const { host, port } = this.deps.config.api;
    app.server.maxConnections = MAX_HTTP_CONNECTIONS;
    try {
      await app.listen({ host, port });
    } catch (err) {
      // a failed start is never stopped: close the routes' timers and listeners here, or they hold the process
      await app.close();
      throw err;
    }
    this.deps.log.info({ url: `http://${host}:${port}`, docs: `http://${host}:${port}/docs` }, 'API listening');
  }

  async stop(): Promise<void> {
    await this.app?.close();
  }
}
