import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger, registerSecret, scrub } from '../src/util/log.js';
import { spawnTs, tempDir } from './helpers/proc.js';

const PASSWORD = 'hunter2-very-secret';

function configFile(extra = ''): string {
  const dir = tempDir();
  const f = join(dir, 'asicd.toml');
  writeFileSync(
    f,
    `[log]\nlevel = "trace"\n[daemon]\nstate_dir = "${dir}/state"\nlock_dir = "${dir}/lock"\n` +
      // no fans on the test machine: a missing hwmon folder is a configuration error
      '[fans]\ncount = 0\nmin_working = 0\n' +
      `[[pools]]\nurl = "stratum+tcp://127.0.0.1:3333"\nuser = "w"\npassword = "${PASSWORD}"\n${extra}`,
  );
  return f;
}

function lines(out: string): { msg: string; [k: string]: unknown }[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

t.test('scrub removes registered secrets and secret-bearing URL parts', async (t) => {
  registerSecret('tok_abcdef123456');
  t.equal(scrub('auth tok_abcdef123456 ok'), 'auth [REDACTED] ok');
  t.equal(
    scrub('POST https://hooks.slack.com/services/T000/B000/XXXXSECRET failed'),
    'POST https://hooks.slack.com/services/T000/B000/[REDACTED] failed',
  );
  t.equal(scrub('https://example.com/hook?token=abc&x=1'), 'https://example.com/hook?token=[REDACTED]&x=1');
  t.equal(scrub('stratum+tcp://user:pw123@pool:3333'), 'stratum+tcp://user:[REDACTED]@pool:3333');
  t.equal(scrub('https://discord.com/api/webhooks/123/abcDEF'), 'https://discord.com/api/webhooks/123/[REDACTED]');
});

t.test('a logger never writes a registered secret, wherever it appears', async (t) => {
  let out = '';
  const dest = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  registerSecret(PASSWORD);
  const log = createLogger({ level: 'trace', destination: dest });
  log.info({ pool: { password: PASSWORD } }, 'object field');
  log.info(`in the message ${PASSWORD}`);
  log.error({ err: new Error(`login failed for ${PASSWORD}`) }, 'error');
  log.child({ component: 'pool' }).debug({ nested: { deep: [PASSWORD] } }, 'nested');
  t.equal(out.split('\n').filter(Boolean).length, 4);
  t.notOk(out.includes(PASSWORD), 'secret absent');
  t.ok(out.includes('[REDACTED]'));
});

t.test('daemon: password never reaches the log; SIGHUP reloads; SIGTERM stops in reverse order', async (t) => {
  const f = configFile();
  const d = spawnTs('test/fixtures/daemon-harness.ts', [f]);
  await d.waitFor('harness up');
  writeFileSync(
    f,
    `${(await import('node:fs')).readFileSync(f, 'utf8').replace('level = "trace"', 'level = "debug"')}[api]\nport = 9999\n`,
  );
  d.child.kill('SIGHUP');
  await d.waitFor('configuration reloaded');
  d.child.kill('SIGTERM');
  const { code } = await d.exit;
  t.equal(code, 0);
  const out = d.stdout() + d.stderr();
  t.notOk(out.includes(PASSWORD), 'configured password never logged');
  const ls = lines(d.stdout());
  const eff = ls.find((l) => l.msg === 'effective configuration');
  t.ok(eff, 'effective configuration logged at trace level');
  t.match(JSON.stringify(eff), /\[REDACTED\]/);
  const reload = ls.find((l) => l.msg === 'configuration reloaded');
  t.same(reload?.applied, ['log.level']);
  t.same(reload?.needRestart, ['api.port']);
  const order = ls.filter((l) => /(started|stopped)$/.test(l.msg)).map((l) => l.msg);
  t.same(order, ['first started', 'second started', 'second stopped', 'first stopped', 'asicd stopped']);
});

t.test('a bad config on SIGHUP changes nothing and the daemon keeps running', async (t) => {
  const f = configFile();
  const d = spawnTs('test/fixtures/daemon-harness.ts', [f]);
  await d.waitFor('harness up');
  writeFileSync(f, '[api]\nport = "x"\n');
  d.child.kill('SIGHUP');
  await d.waitFor('reload refused');
  t.equal(d.child.exitCode, null, 'still running');
  d.child.kill('SIGINT');
  t.equal((await d.exit).code, 0);
});

for (const mode of ['crash', 'throw'] as const) {
  t.test(
    `an ${mode === 'crash' ? 'unhandled rejection' : 'uncaught exception'} stops in order and exits non-zero`,
    async (t) => {
      const d = spawnTs('test/fixtures/daemon-harness.ts', [configFile()], { HARNESS_MODE: mode });
      const { code } = await d.exit;
      t.equal(code, 1);
      const ls = lines(d.stdout());
      const fatal = ls.find((l) => l.level === 60);
      t.ok(fatal, 'fatal line');
      t.match(JSON.stringify(fatal), mode === 'crash' ? /boom in second/ : /thrown in second/);
      t.match(JSON.stringify(fatal), /stack/);
      t.ok(
        ls.some((l) => l.msg === 'first stopped'),
        'components stopped',
      );
    },
  );
}

t.test('a component that hangs on stop is abandoned within 5 s', async (t) => {
  const d = spawnTs('test/fixtures/daemon-harness.ts', [configFile()], { HARNESS_MODE: 'hang' });
  await d.waitFor('harness up');
  const t0 = Date.now();
  d.child.kill('SIGTERM');
  const { code } = await d.exit;
  const ms = Date.now() - t0;
  t.equal(code, 0);
  t.ok(ms < 6500, `exited after ${ms} ms`);
  t.ok(lines(d.stdout()).some((l) => l.msg === 'second did not stop in time; abandoned'));
});

t.test('a second daemon cannot drive the same boards; a stale lock is taken over', async (t) => {
  const f = configFile('[[chains]]\nuart = "tcp://127.0.0.1:47001"\nspi = "tcp://127.0.0.1:47002"\n');
  const a = spawnTs('test/fixtures/daemon-harness.ts', [f]);
  await a.waitFor('harness up');
  const b = spawnTs('test/fixtures/daemon-harness.ts', [f]);
  const { code } = await b.exit;
  t.equal(code, 2, 'second daemon refused');
  t.match(b.stdout(), new RegExp(`in use by process ${a.child.pid}`));
  a.child.kill('SIGKILL'); // leaves its lock files behind
  await a.exit;
  const c = spawnTs('test/fixtures/daemon-harness.ts', [f]);
  await c.waitFor('harness up');
  c.child.kill('SIGTERM');
  t.equal((await c.exit).code, 0, 'stale lock of a dead daemon taken over');
});
