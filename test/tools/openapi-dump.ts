import { writeFileSync } from 'node:fs';
import { startDaemon } from '../helpers/daemon.js';

const d = await startDaemon();
const r = await fetch(`${d.base}/api/v1/openapi.json`);
writeFileSync(process.argv[2], JSON.stringify(await r.json(), null, 1));
const ui = await fetch(`${d.base}/docs/`);
const idx = await ui.text();
console.log('docs', ui.status, ui.headers.get('content-type'), idx.length);
for (const p of [
  '/docs',
  '/docs/static/index.html',
  '/docs/json',
  '/docs/static/swagger-ui.css',
  '/docs/static/swagger-initializer.js',
]) {
  const x = await fetch(`${d.base}${p}`, { redirect: 'manual' });
  console.log(
    p,
    x.status,
    x.headers.get('content-type'),
    x.headers.get('location'),
    (await x.arrayBuffer()).byteLength,
  );
}
await d.stop();
