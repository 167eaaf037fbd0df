import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import t from 'tap';
import { ProfileError, ProfileStore, profileFileName } from '../src/chain/tuner/profile-store.js';
import { profileFor } from './fixtures/profile-writer.js';
import { ROOT, tempDir } from './helpers/proc.js';

t.test('profiles: saved per board serial, read back, reset; a bad file names what is wrong', async (t) => {
  const dir = tempDir();
  const store = new ProfileStore(dir);
  t.equal(store.load('L7-A'), undefined, 'no profile yet');
  const p = { ...profileFor(3), boardId: 'L7-A' };
  store.save(p);
  store.save({ ...profileFor(4), boardId: 'L7 B/..' });
  t.same(store.load('L7-A'), p, 'read back whole');
  t.equal(profileFileName('L7 B/..'), 'L7_B_...json', 'a serial cannot leave the folder');
  t.equal(profileFileName('../x'), '__x.json');
  writeFileSync(store.fileOf('L7-C'), JSON.stringify({ ...profileFor(5), boardId: 'L7-C', freqsMHz: [400, 9000] }));
  try {
    store.load('L7-C');
    t.fail('a bad profile loads');
  } catch (err) {
    t.ok(err instanceof ProfileError, 'a ProfileError');
  }
  t.throws(() => store.load('L7-C'), /freqsMHz: expected frequencies within 50–800 MHz/);
  writeFileSync(store.fileOf('L7-D'), '{"version":1,');
  t.throws(() => store.load('L7-D'), /L7-D\.json: not JSON/);
  writeFileSync(store.fileOf('L7-E'), JSON.stringify({ ...profileFor(5), boardId: 'L7-X' }));
  t.throws(() => store.load('L7-E'), /belongs to board "L7-X"/, 'a copied file is not taken for another board');
  t.equal(store.reset('L7-A'), 1);
  t.equal(store.load('L7-A'), undefined, 'reset');
  t.equal(store.reset(), 4, 'reset all');
  t.same(readdirSync(store.dir), []);
});

t.test('a SIGKILL mid-save leaves the old profile or the new one, whole', async (t) => {
  const dir = tempDir();
  const bundle = join(dir, 'writer.mjs');
  buildSync({
    entryPoints: [join(ROOT, 'test/fixtures/profile-writer.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: bundle,
    logLevel: 'silent',
  });
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const store = new ProfileStore(stateDir);
  let last = 0;
  let newer = 0;
  const trials = 15;
  for (let i = 0; i < trials; i++) {
    const child = spawn(process.execPath, [bundle, stateDir, String(last + 1)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await new Promise<void>((res) => child.stdout.once('data', () => res()));
    await new Promise((r) => setTimeout(r, Math.random() * 30));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const p = store.load('L7-TEST-000042');
    if (!p) {
      t.fail(`trial ${i}: no profile`);
      continue;
    }
    const gen = p.targetValue;
    t.same(p, profileFor(gen), `trial ${i}: generation ${gen} whole`);
    if (gen > last) newer++;
    last = gen;
  }
  t.equal(newer, trials, 'every trial saved at least once before the kill');
  // loading swept the temp files the killed writers left
  t.same(readdirSync(store.dir), [profileFileName('L7-TEST-000042')]);
});
