import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import t from 'tap';
import { type HistorySample, HistoryStore } from '../src/monitor/history.js';
import { sampleFor } from './fixtures/history-writer.js';
import { memoryLogger } from './helpers/log.js';
import { ROOT } from './helpers/proc.js';

const DAY_S = 86_400;
const open = (file: string, retentionS = 3 * DAY_S, maxSamples?: number) => {
  const mem = memoryLogger('debug');
  const store = new HistoryStore(file, retentionS, mem.log, maxSamples);
  const loaded = store.open();
  return { store, loaded, logs: mem.lines };
};
const f32 = (x: number) => Math.fround(x);

t.test('samples round-trip through the file; three days at one a minute stay compact', async (t) => {
  const file = join(t.testdir(), 'history.bin');
  const a = open(file);
  const t0 = 1_700_000_000;
  const n = 3 * 24 * 60;
  for (let i = 0; i < n; i++) a.store.append(sampleFor(t0 + i * 60));
  a.store.close();
  const size = statSync(file).size;
  t.ok(size < 300_000, `3 days of 2 boards and 1 pool a minute: ${size} bytes`);
  const b = open(file);
  t.teardown(() => b.store.close());
  t.equal(b.loaded.samples, n);
  t.equal(b.loaded.droppedBytes, 0);
  const s = b.store.samples[123];
  const want = sampleFor(t0 + 123 * 60);
  t.equal(s.tS, want.tS);
  t.same(
    s.boards,
    want.boards.map((x) => ({ ...x, hashrateHs: f32(x.hashrateHs), powerW: f32(x.powerW), maxChipC: f32(x.maxChipC) })),
  );
  t.same(s.pools, want.pools, 'pool labels come back from the dictionary frames');
});

t.test('a torn or damaged end is cut off and the store goes on appending', async (t) => {
  const file = join(t.testdir(), 'history.bin');
  const a = open(file);
  for (let i = 0; i < 10; i++) a.store.append(sampleFor(2_000_000 + i));
  a.store.close();
  const whole = statSync(file).size;
  truncateSync(file, whole - 5);
  const b = open(file);
  t.equal(b.loaded.samples, 9, 'the torn last sample is dropped');
  t.ok(b.loaded.droppedBytes > 0);
  t.ok(
    b.logs().some((l) => String(l.msg).includes('torn')),
    'the cut is logged',
  );
  b.store.append(sampleFor(2_000_100));
  b.store.close();
  appendFileSync(file, Buffer.from('garbage after the last frame'));
  const c = open(file);
  t.equal(c.loaded.samples, 10);
  t.equal(c.store.samples.at(-1)?.tS, 2_000_100, 'what was appended after the cut is there');
  c.store.close();
  // a flipped bit in the middle: only the damaged frame is lost, the original is kept aside
  const buf = readFileSync(file);
  buf[Math.floor(buf.length / 2)] ^= 0x40;
  writeFileSync(file, buf);
  const d = open(file);
  t.teardown(() => d.store.close());
  t.equal(d.loaded.samples, 9, 'one sample lost to the damage');
  t.ok(d.loaded.movedAside && readFileSync(d.loaded.movedAside).equals(buf), 'the damaged file is kept as it was');
  const ts = d.store.samples.map((s) => s.tS);
  t.equal(ts.at(-1), 2_000_100, 'samples after the damage are kept');
  d.store.close();
  const e = open(file);
  t.teardown(() => e.store.close());
  t.same(
    e.store.samples.map((s) => s.tS),
    ts,
    'the rewritten file loads clean',
  );
  t.equal(e.loaded.droppedBytes, 0);
});

t.test('a file that is not a history file is moved aside, not overwritten', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'history.bin');
  writeFileSync(file, 'somebody else\u2019s data\n');
  const a = open(file);
  t.teardown(() => a.store.close());
  t.equal(a.loaded.samples, 0);
  t.ok(a.loaded.movedAside);
  t.equal(readFileSync(a.loaded.movedAside ?? '', 'utf8'), 'somebody else\u2019s data\n');
  a.store.append(sampleFor(5));
  t.ok(
    readdirSync(dir).some((n) => n.startsWith('history.bin.bad-')),
    'kept for a human',
  );
});

t.test('samples past retention are dropped in batches by an atomic rewrite', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'history.bin');
  const a = open(file, 100 * 60);
  t.teardown(() => a.store.close());
  for (let i = 0; i < 400; i++) a.store.append(sampleFor(3_000_000 + i * 60));
  const kept = a.store.samples;
  t.ok(kept.length <= 100 + 10 + 1 && kept.length >= 100, `${kept.length} samples kept for 100 minutes`);
  t.equal(kept.at(-1)?.tS, 3_000_000 + 399 * 60);
  const again = open(file, 10 ** 9);
  t.teardown(() => again.store.close());
  t.same(
    again.store.samples.map((s) => s.tS),
    kept.map((s) => s.tS),
    'the file holds what memory holds',
  );
  t.same(
    readdirSync(dir).filter((n) => n.endsWith('.tmp')),
    [],
    'no temp files',
  );
});

t.test('series: steps merge samples (mean rate, max temperature, summed shares) and mark gaps', async (t) => {
  const file = join(t.testdir(), 'history.bin');
  const a = open(file);
  t.teardown(() => a.store.close());
  const mk = (tS: number, h: number, temp: number, acc: number): HistorySample => ({
    tS,
    spanS: 60,
    boards: [{ mining: true, hashrateHs: h, powerW: h / 10, maxChipC: temp }],
    pools: [{ label: 'p', accepted: acc, rejected: 1 }],
  });
  // minutes 1–4, then the daemon is down for 10 minutes, then minutes 15–16
  for (const [m, h, temp] of [
    [1, 100, 60],
    [2, 300, 70],
    [3, 100, 65],
    [4, 300, 61],
    [15, 200, 62],
    [16, 200, 63],
  ])
    a.store.append(mk(m * 60, h, temp, m));
  const s = a.store.series(0, 10_000, 8, 60);
  t.equal(s.stepS, 120, '15 minutes in at most 8 points: 2-minute steps');
  t.same(s.t, [120, 240, 360, 960], 'a null row after the last step before the gap');
  t.same(s.hashrateHs, [f32(200), f32(200), null, f32(200)]);
  t.same(s.boards[0].maxChipC, [f32(70), f32(65), null, f32(63)]);
  t.same(s.pools[0].accepted, [3, 7, null, 31]);
  t.same(s.pools[0].rejected, [2, 2, null, 2]);
  const fine = a.store.series(100, 500, 1000, 60);
  t.equal(fine.stepS, 60);
  t.same(fine.t, [120, 180, 240], 'only samples inside the range');
});

t.test('a writer killed at random moments leaves a file that loads whole and in order', async (t) => {
  const dir = t.testdir();
  const bundle = join(dir, 'writer.mjs');
  buildSync({
    entryPoints: [join(ROOT, 'test/fixtures/history-writer.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: bundle,
    logLevel: 'silent',
    // pino's dependencies use require(): give the ESM bundle one, under names the bundled code does not use
    banner: {
      js: "import { createRequire as __historyTestCreateRequire } from 'node:module'; const require = __historyTestCreateRequire(import.meta.url);",
    },
  });
  const file = join(dir, 'history.bin');
  const trials = 6;
  let last = 0;
  for (let i = 0; i < trials; i++) {
    const child = spawn(process.execPath, [bundle, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res, rej) => {
      child.stdout.once('data', () => res());
      child.once('exit', (code) => rej(new Error(`the writer exited (${code}) before it was ready`)));
    });
    await new Promise((r) => setTimeout(r, Math.random() * 40));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const a = open(file, 10 ** 9, 200);
    const ts = a.store.samples.map((s) => s.tS);
    a.store.close();
    const inOrder = ts.every((x, k) => k === 0 || x === ts[k - 1] + 1);
    if (!inOrder) t.fail(`trial ${i}: samples out of order or missing`);
    const newest = ts.at(-1) ?? 0;
    if (newest <= last) t.fail(`trial ${i}: newest sample ${newest} not after ${last}`);
    const bad = a.store.samples.find((s) => s.boards[0].hashrateHs !== f32(s.tS * 1000));
    if (bad) t.fail(`trial ${i}: sample ${bad.tS} has wrong values`);
    last = newest;
  }
  t.pass(`${trials} kills, every load whole; ${last - 1_000_000} samples written`);
});
