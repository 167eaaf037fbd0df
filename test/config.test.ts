import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { configurationMarkdown, defaultToml } from '../src/config/document.js';
import { ConfigError, parseConfigText } from '../src/config/load.js';
import { RATINGS } from '../src/device/maijie-l7/ratings.js';
import { ROOT, runCli, tempDir } from './helpers/proc.js';

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(text, 'test.toml', env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

const POOL = '[[pools]]\nurl = "stratum+tcp://127.0.0.1:3333"\nuser = "w"\n';

t.test('the generated default file is valid and complete', async (t) => {
  const text = defaultToml();
  const c = parseConfigText(text, 'defaults.toml');
  t.equal(c.thermal.dangerous_c, 95);
  t.equal(c.api.cgminer_port, 4028);
  // every section and key of the schema appears in the file
  for (const key of [
    '[log]',
    '[api]',
    '[pool]',
    '#[[pools]]',
    '#[[chains]]',
    '[fans]',
    '[thermal]',
    '[tuning]',
    '[sim]',
  ]) {
    t.ok(text.includes(key), `${key} present`);
  }
});

t.test('docs/configuration.md is generated from the schema and current', async (t) => {
  const onDisk = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
  t.equal(onDisk, configurationMarkdown(), 'run `npm run docs` to regenerate docs/configuration.md');
});

t.test('every error is reported at once, with its key path and rule', async (t) => {
  const issues = issuesOf(
    `${POOL}[[pools]]\nurl = "http://x"\nuser = "u"\nprioritty = 3\n[thermal]\ndangerous_c = 120\n` +
      '[[chains]]\nuart = "/dev/ttyS1"\nspi = "/dev/spidev0.0"\nfrequency_mhz = 900\nvoltage_mv = "high"\n',
  );
  t.same(issues.sort(), [
    'chains[0].frequency_mhz: expected a whole number from 50 to 800, got 900',
    'chains[0].voltage_mv: expected a whole number from 1000 to 1600, got "high"',
    'pools[1].prioritty: unknown key; did you mean "priority"?',
    'pools[1].url: expected stratum+tcp:// or stratum+ssl://host:port',
    'thermal.dangerous_c: expected a number from 50 to 100, got 120',
  ]);
});

t.test('a table or array written as something else is an error, not silently replaced by defaults', async (t) => {
  t.same(issuesOf('[pools]\nurl = "stratum+tcp://127.0.0.1:3333"\nuser = "w"\n'), [
    'pools: expected an array (write [[pools]] for each entry, not [pools]), got a table',
  ]);
  t.same(issuesOf(`thermal = 5\n${POOL}`), ['thermal: expected a table, got 5']);
  t.same(issuesOf(`[[log]]\nlevel = "info"\n${POOL}`), [
    'log: expected a table (write [log], not [[log]]), got an array',
  ]);
  t.same(issuesOf(`chains = "none"\n${POOL}`), ['chains: expected an array, got "none"']);
});

t.test('hardware ratings cannot be exceeded', async (t) => {
  const chain = (k: string, v: number) =>
    issuesOf(`[[chains]]\nuart = "/dev/ttyS1"\nspi = "/dev/spidev0.0"\n${k} = ${v}\n`).length;
  t.equal(chain('frequency_mhz', RATINGS.freqMaxMHz), 0);
  t.equal(chain('frequency_mhz', RATINGS.freqMaxMHz + 1), 1);
  t.equal(chain('frequency_mhz', RATINGS.freqMinMHz - 1), 1);
  t.equal(chain('voltage_mv', RATINGS.voltageMaxMv + 1), 1);
  t.equal(issuesOf(`[thermal]\ndangerous_c = ${RATINGS.mcuTripTempC}\n`).length, 1);
  t.match(issuesOf('[fans]\ncount = 2\nmin_working = 3\n'), [/^fans\.min_working: must not exceed fans\.count \(2\)/]);
  t.match(issuesOf('[thermal]\nhot_c = 96\ndangerous_c = 95\n'), [
    'thermal.hot_c: must be below thermal.dangerous_c (95)',
  ]);
});

t.test('TOML syntax errors give line and column', async (t) => {
  try {
    parseConfigText('[log]\nlevel = "info"\npretty = tru\n', 'x.toml');
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    t.match((err as Error).message, /^x\.toml:3:\d+: TOML syntax error/);
  }
});

t.test('environment overrides', async (t) => {
  const c = parseConfigText(POOL, 'e.toml', {
    ASICD_API_PORT: '9090',
    ASICD_LOG_LEVEL: 'debug',
    ASICD_POOLS_0_PASSWORD: 'from-env',
    ASICD_POOL_FALLBACK_TIME_S: '30',
    ASICD_API_OPEN_READS_ON_LOOPBACK: 'false',
  });
  t.equal(c.api.port, 9090);
  t.equal(c.log.level, 'debug');
  t.equal(c.pools[0].password, 'from-env');
  t.equal(c.pool.fallback_time_s, 30);
  t.equal(c.api.open_reads_on_loopback, false);
  t.match(issuesOf(POOL, { ASICD_API_PORT: 'abc' }), [/api\.port: cannot read "abc" as integer/]);
  t.match(issuesOf(POOL, { ASICD_API_PORT: '70000' }), [/api\.port: expected a whole number from 1 to 65535/]);
  t.match(issuesOf(POOL, { ASICD_NOPE: '1' }), [/names no setting/]);
  t.match(issuesOf(POOL, { ASICD_POOLS_3_USER: 'x' }), [/the file has no pools entry 3 to override/]);
});

t.test('bad files: each names the file and the fix, exit 1 from check, 2 from run', async (t) => {
  const dir = tempDir();
  const cases: [string, string | Buffer | null, RegExp][] = [
    ['missing.toml', null, /file not found; create one with `asicd config defaults > FILE`/],
    ['empty.toml', '  \n', /file is empty/],
    ['binary.toml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0xff]), /not a text file/],
    ['notoml.toml', '{"log": {"level": "info"}}', /TOML syntax error/],
    ['types.toml', '[api]\nport = "eighty"\n', /api\.port: expected a whole number/],
  ];
  for (const [name, content, re] of cases) {
    const f = join(dir, name);
    if (content !== null) writeFileSync(f, content);
    const check = await runCli(['config', 'check', f]);
    t.equal(check.code, 1, `${name}: check exits 1`);
    t.match(check.stderr, re, `${name}: message`);
    t.ok(check.stderr.includes(f), `${name}: names the file`);
  }
  const dirAsFile = join(dir, 'adir.toml');
  mkdirSync(dirAsFile);
  t.match((await runCli(['config', 'check', dirAsFile])).stderr, /is a directory/);
  const run = await runCli(['run', '--config', join(dir, 'types.toml')]);
  t.equal(run.code, 2, 'run refuses a bad config with exit 2');
  t.match(run.stderr, /invalid configuration, nothing started/);
  t.equal(run.stdout, '', 'nothing started, nothing logged');
});

t.test('CLI basics', async (t) => {
  const v = await runCli(['--version']);
  t.equal(v.code, 0);
  t.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
  const h = await runCli(['--help']);
  t.match(h.stdout, /asicd run \[--config FILE\]/);
  const d = await runCli(['config', 'defaults']);
  t.equal(d.code, 0);
  t.equal(d.stdout, defaultToml());
  const u = await runCli(['frobnicate']);
  t.equal(u.code, 2);
  t.match(u.stderr, /unknown command "frobnicate"/);
});
