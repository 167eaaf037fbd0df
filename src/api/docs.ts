import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchema,
  type HTTPMethods,
} from 'fastify';

/** A route as the OpenAPI document needs it. */
interface RouteRecord {
  method: HTTPMethods | HTTPMethods[];
  url: string;
  schema: FastifySchema | undefined;
}

/** Headers of the docs app's reply that the outer reply sets itself. */
const HOP_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date']);

/**
 * The OpenAPI document (/api/v1/openapi.json) and its docs page (/docs), loaded on the first request for either.
 * @fastify/swagger, @fastify/swagger-ui and what they pull in (a YAML library, a static file server, mime tables)
 * cost megabytes of a controller's memory in a daemon whose operators rarely open the page. Until then only each
 * route's method, path and schema (which the app holds anyway) are recorded; the first request builds a separate,
 * never-listening app with the same routes, generates the document there, and serves the page through it.
 * Call before the routes are registered: the record is made by an onRoute hook.
 */
export function installLazyDocs(app: FastifyInstance, openapi: FastifyDynamicSwaggerOptions['openapi']): void {
  const routes: RouteRecord[] = [];
  app.addHook('onRoute', (r) => {
    // hidden routes (these ones included) are left out of the document anyway; HEAD twins are not listed either
    const schema = r.schema as (FastifySchema & { hide?: boolean }) | undefined;
    if (schema?.hide || r.method === 'HEAD') return;
    routes.push({ method: r.method, url: r.url, schema: r.schema });
  });

  let docs: Promise<FastifyInstance> | undefined;
  const load = (): Promise<FastifyInstance> => {
    docs ??= build(routes, openapi).catch((err: unknown) => {
      // a failed build is tried again by the next request
      docs = undefined;
      throw err;
    });
    return docs;
  };

  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    const d = await load();
    const res = await d.inject({
      method: 'GET',
      url: req.url,
      headers: { accept: req.headers.accept ?? '*/*', 'if-none-match': req.headers['if-none-match'] ?? '' },
    });
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP_HEADERS.has(k)) reply.header(k, v);
    // a redirect has no body: send none, or it would go out typed as a binary file
    return reply.code(res.statusCode).send(res.rawPayload.length ? res.rawPayload : undefined);
  };
  app.get('/docs', { schema: { hide: true } }, page);
  app.get('/docs/*', { schema: { hide: true } }, page);
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => (await load()).swagger());
}

async function build(
  routes: RouteRecord[],
  openapi: FastifyDynamicSwaggerOptions['openapi'],
): Promise<FastifyInstance> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([
    import('@fastify/swagger'),
    import('@fastify/swagger-ui'),
  ]);
  const d = Fastify({ logger: false, exposeHeadRoutes: false });
  // the routes are never called here: no validators or serializers to compile
  d.setValidatorCompiler(() => () => true);
  d.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await d.register(swagger, { openapi });
  await d.register(swaggerUi, { routePrefix: '/docs' });
  await d.register(async (scope) => {
    for (const r of routes) scope.route({ method: r.method, url: r.url, schema: r.schema, handler: async () => null });
  });
  await d.ready();
  return d;
}
