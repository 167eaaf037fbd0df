import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, parseConfigText } from '../src/config/load.js';
import { runCli, tempDir } from './helpers/proc.js';

// `config check` and `run` share one validation: what check passes, run starts; what run would die on, check reports,
// every problem in one pass, each blamed on where it came from.

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): { source: string; line: string }[] {
  try {
    parseConfigText(text, 'test.toml', env);
  } catch (err) {
    if (err instanceof ConfigError)
      return err.issues.map((i) => ({ source: i.source, line: `${i.path}: ${i.message}` }));
    throw err;
  }
  return [];
}
const lines = (text: string, env: NodeJS.ProcessEnv = {}) => issuesOf(text, env).map((i) => i.line);

const POOL = '[[pools]]\nurl = "stratum+tcp://127.0.0.1:3333"\nuser = "w"\n';

t.test('pool ports outside 1-65535 are configuration errors', async (t) => {
  t.match(lines('[[pools]]\nurl = "stratum+tcp://pool.example:0"\nuser = "w"\n'), [/pools\[0\]\.url: port 0 is not/]);
  t.match(lines('[[pools]]\nurl = "stratum+tcp://pool.example:99999"\nuser = "w"\n'), [/port 99999 is not/]);
});

t.test('worker names and passwords have the REST limits', async (t) => {
  const long = 'w'.repeat(7000);
  const l = lines(`[[pools]]\nurl = "stratum+tcp://p:3333"\nuser = "${long}"\n`);
  t.match(l, [/pools\[0\]\.user: at most 256 characters, got 7000/]);
  t.notOk(l.join().includes(long), 'the value is not echoed');
});

t.test('cgminer_allow is checked as run reads it', async (t) => {
  t.match(lines(`${POOL}[api]\ncgminer_allow = "10.0.0.0/33,W:bogus"\n`), [/api\.cgminer_allow: .*10\.0\.0\.0\/33/]);
  t.same(lines(`${POOL}[api]\ncgminer_allow = "W:10.0.0.0/8,127.0.0.1"\n`), []);
});

t.test('cross-field rules are reported together with type errors, in one pass', async (t) => {
  const l = lines(
    `${POOL}[api]\nport = "eighty"\n[fans]\ncount = 2\nmin_working = 3\n[thermal]\ntarget_c = 90\nhot_c = 85\n`,
  );
  t.match(l.join('\n'), /api\.port: expected a whole number/);
  t.match(l.join('\n'), /fans\.min_working: must not exceed fans\.count/);
  t.match(l.join('\n'), /thermal\.target_c: must be below thermal\.hot_c/);
});

t.test('a bad value from the environment is blamed on the environment, not the file', async (t) => {
  const direct = issuesOf(POOL, { ASICD_THERMAL_HOT_C: '200' });
  t.equal(direct[0]?.source, 'environment variable ASICD_THERMAL_HOT_C');
  const cross = issuesOf(POOL, { ASICD_THERMAL_HOT_C: '60' });
  t.ok(cross.length > 0);
  t.ok(
    cross.every((i) => i.source === 'environment variable ASICD_THERMAL_HOT_C'),
    cross.map((i) => `${i.source} ${i.line}`).join('; '),
  );
});

t.test('config check reports what run would die on; run exits 2 with the same words, never a stack', async (t) => {
  const dir = tempDir();
  const state = `[daemon]\nstate_dir = "${dir}/state"\nlock_dir = "${dir}/lock"\n`;
  const cases: [string, string, RegExp][] = [
    [
      'allow.toml',
      `${POOL}${state}[fans]\ncount = 0\nmin_working = 0\n[api]\ncgminer_allow = "10.0.0.0/33"\n`,
      /cgminer_allow/,
    ],
    [
      'hwmon.toml',
      `${POOL}${state}[fans]\nhwmon = "${dir}/no-such-hwmon"\ncount = 2\n`,
      /fans\.hwmon: folder .* not found/,
    ],
    [
      'port.toml',
      `[[pools]]\nurl = "stratum+tcp://127.0.0.1:0"\nuser = "w"\n${state}[fans]\ncount = 0\nmin_working = 0\n`,
      /port 0/,
    ],
    [
      'uart.toml',
      `${POOL}${state}[fans]\ncount = 0\nmin_working = 0\n[[chains]]\nuart = "${dir}/ttyNONE"\nspi = "tcp://127.0.0.1:1"\n`,
      /chains\[0\]\.uart: device .* not found/,
    ],
  ];
  for (const [name, text, re] of cases) {
    const f = join(dir, name);
    writeFileSync(f, text);
    const check = await runCli(['config', 'check', f]);
    t.equal(check.code, 1, `${name}: check fails`);
    t.match(check.stderr, re, `${name}: check says why`);
    const run = await runCli(['run', '--config', f]);
    t.equal(run.code, 2, `${name}: run exits 2`);
    t.match(run.stderr, re, `${name}: run says the same`);
    t.notMatch(run.stderr + run.stdout, /RangeError|ENOENT|\n\s+at /, `${name}: no stack`);
  }
  // nothing to do: allowed, but said
  const idle = join(dir, 'idle.toml');
  writeFileSync(idle, `${state}[fans]\ncount = 0\nmin_working = 0\n`);
  const c = await runCli(['config', 'check', idle]);
  t.equal(c.code, 0);
  t.match(c.stderr, /warning: no pools and no enabled chains/);
});
