// npm run build, last step: the daemon as one bundle in dist/bundle/ (what bin/asicd.js runs), beside the module tree
// tsc writes to dist/ (what tests and tools import).
//
// Why: loading ~400 module files from dist/ and node_modules cost the daemon ~8 MiB of RSS and ~2 MiB of heap more
// than the same code as one file (the ESM loader's records and read buffers, whole unminified sources kept for lazy
// compilation, and some packages twice). On a 256 MB controller that is worth a build step.
//
// Layout: every output sits exactly one folder below dist/, as the tsc modules that look for files beside them
// expect: `../package.json` is found from both (src/version.ts looks one and two levels up), the dashboard's
// `public/` is copied here too, and the worker threads (the cgminer API's, the simulator's hasher) are entries of
// their own, named as the code that starts them asks for them (`./cgminer-worker.js`, `./hasher-worker.js`).
// Packages with native bindings, or loaded only when asked for (pretty logs, MQTT, the API docs page), stay in
// node_modules and are loaded from there.
//
// `node scripts/bundle.mjs [ROOT]`: bundles ROOT/dist (default: this repository's), as test/bundle builds one apart.
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = process.argv[2] ?? new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const out = join(dist, 'bundle');
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: ['cli.js', 'api/cgminer-worker.js', 'sim/board/hasher-worker.js'].map((f) => join(dist, f)),
  entryNames: '[name]',
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // whitespace and syntax only: names stay, so a stack trace in the journal still reads
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  legalComments: 'linked',
  external: [
    'serialport',
    '@serialport/*',
    'spi-device',
    'pino-pretty',
    'mqtt',
    '@fastify/swagger',
    '@fastify/swagger-ui',
    'thread-stream',
  ],
  // bundled CommonJS packages call require() for node's own modules
  banner: { js: "import { createRequire as __asicdRequire } from 'node:module'; const require = __asicdRequire(import.meta.url);" },
  logLevel: 'warning',
});
cpSync(join(dist, 'api/dashboard/public'), join(out, 'public'), { recursive: true });
