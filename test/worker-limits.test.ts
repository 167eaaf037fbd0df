// A worker thread's resourceLimits hold while the process runs with the unit's V8 heap flags (which V8 used to take
// over them), and the main thread keeps the heap those flags gave it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';

const ROOT = new URL('..', import.meta.url).pathname;

t.test("a worker's heap is its resourceLimits, not the command line's", async (t) => {
  const r = spawnSync(
    process.execPath,
    [
      '--max-old-space-size=200',
      '--max-semi-space-size=2',
      '--import',
      'tsx',
      join(ROOT, 'test/helpers/heap-limit-main.ts'),
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  t.ok(out.worker >= 24 && out.worker < 40, `worker heap limit ${out.worker} MB: its 24 MB old space and young space`);
  t.ok(out.mainBefore >= 200, `main heap limit ${out.mainBefore} MB from --max-old-space-size=200`);
  t.equal(out.mainAfter, out.mainBefore, 'the main heap keeps its limit after the worker starts');
});
