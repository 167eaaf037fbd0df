// The docs page and the OpenAPI document are built on the first request for them: until then neither
// @fastify/swagger nor @fastify/swagger-ui (and what they pull in) is loaded into the daemon.
import { createRequire } from 'node:module';
import t from 'tap';
import { startDaemon } from './helpers/daemon.js';

const loaded = (pkg: string) =>
  Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes(`/node_modules/${pkg}/`));

t.test('swagger is loaded by the first docs request, and serves the same document and page', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.stop());
  const summary = await fetch(`${d.base}/api/v1/summary`);
  t.equal(summary.status, 200);
  t.notOk(loaded('@fastify/swagger'), '@fastify/swagger not loaded by a running daemon');
  t.notOk(loaded('@fastify/swagger-ui'), '@fastify/swagger-ui not loaded by a running daemon');

  const doc = (await (await fetch(`${d.base}/api/v1/openapi.json`)).json()) as {
    info: { title: string };
    paths: Record<string, Record<string, unknown>>;
  };
  t.ok(loaded('@fastify/swagger'), 'loaded once asked for');
  t.equal(doc.info.title, 'asicd API');
  t.ok(doc.paths['/api/v1/summary']?.get, 'routes registered after the docs are in the document');
  t.notOk(doc.paths['/docs'] ?? doc.paths['/api/v1/openapi.json'], 'the docs routes themselves are hidden');
  t.notOk(
    Object.values(doc.paths).some((ops) => 'head' in ops),
    'no HEAD twins',
  );

  const page = await fetch(`${d.base}/docs/`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /text\/html/);
  t.match(await page.text(), /swagger/i);
  const css = await fetch(`${d.base}/docs/static/swagger-ui.css`);
  t.equal(css.status, 200);
  t.match(css.headers.get('content-type'), /text\/css/);
  const redirect = await fetch(`${d.base}/docs/static/index.html`, { redirect: 'manual' });
  t.equal(redirect.status, 302);
  t.equal(redirect.headers.get('location'), '/docs/');
  t.equal(redirect.headers.get('content-type'), null, 'an empty redirect, not a binary file');
  const trav = await fetch(`${d.base}/docs/static/..%2f..%2f..%2fpackage.json`);
  t.not(trav.status, 200, 'no path traversal out of the docs folder');
});
