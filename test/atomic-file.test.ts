import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import t from 'tap';
import { sweepTempFiles, writeFileAtomic } from '../src/util/atomic-file.js';
import { contentFor } from './fixtures/atomic-writer.js';
import { ROOT, tempDir } from './helpers/proc.js';

t.test('writes and replaces whole files, leaving no temp files', async (t) => {
  const dir = tempDir();
  const f = join(dir, 'state.json');
  writeFileAtomic(f, 'one');
  writeFileAtomic(f, 'two');
  t.equal(readFileSync(f, 'utf8'), 'two');
  t.same(readdirSync(dir), ['state.json']);
});

t.test('SIGKILL at random moments always leaves the complete old or the complete new file', async (t) => {
  const dir = tempDir();
  // Bundle the writer once so each child starts in milliseconds.
  const bundle = join(dir, 'writer.mjs');
  buildSync({
    entryPoints: [join(ROOT, 'test/fixtures/atomic-writer.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: bundle,
    logLevel: 'silent',
  });
  const file = join(dir, 'profile.txt');
  writeFileSync(file, contentFor(0));
  // 30 kills in `npm test`; `npm run test:faults` runs 300 (ASICD_KILL_TRIALS)
  const trials = Number(process.env.ASICD_KILL_TRIALS ?? 30);
  let sawNewer = 0;
  let lastGen = 0;
  for (let i = 0; i < trials; i++) {
    const child = spawn(process.execPath, [bundle, file, String(lastGen + 1)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((res) => child.stdout.once('data', () => res()));
    await new Promise((r) => setTimeout(r, Math.random() * 40));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const text = readFileSync(file, 'utf8');
    const m = /^gen (\d+)\n/.exec(text);
    if (!m) {
      t.fail(`trial ${i}: file has no header (${text.length} bytes)`);
      continue;
    }
    const gen = Number(m[1]);
    if (text !== contentFor(gen)) t.fail(`trial ${i}: generation ${gen} is torn (${text.length} bytes)`);
    if (gen > lastGen) sawNewer++;
    lastGen = gen;
  }
  t.equal(sawNewer, trials, 'every trial wrote at least one generation before the kill');
  const litter = readdirSync(dir).filter((n) => n.endsWith('.tmp')).length;
  t.equal(sweepTempFiles(file), litter, `the ${litter} temp files left by killed writers are swept`);
  t.same(readdirSync(dir).sort(), ['profile.txt', 'writer.mjs']);
  t.pass(`${trials} kills, every file whole`);
});
