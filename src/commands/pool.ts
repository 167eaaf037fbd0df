import { parseArgs } from 'node:util';
import { FAULT_KINDS, type Fault, TestPool } from '../sim/pool/server.js';
import { createLogger } from '../util/log.js';
import { numberArg } from './args.js';

const HELP = `asicd pool — a strict Stratum v1 test pool (for tests and the demo; not for real mining)

Options:
  --host ADDR               listen address (default 127.0.0.1)
  --port N                  listen port (default 3333; 0 = any)
  --difficulty D            starting share difficulty, fractions allowed (default 1)
  --vardiff SPM             retarget to SPM shares per minute per connection (off by default)
  --extranonce1-size N      bytes (default 4)      --extranonce2-size N   bytes (default 4)
  --version-mask HEX        version-rolling mask offered (default 1fffe000)
  --notify-interval S       seconds between new jobs (default 30)
  --block-interval S        seconds between clean_jobs "new blocks" (default 600)
  --branch-depth N          merkle branch length (default 12)
  --fault KIND              a misbehaving pool (default none):
                              stall            answer nothing, send nothing, keep the connection
                              reject           reject every share
                              reject-some      accept one valid share in --accept-every, reject the others
                                               as low difficulty (never many in a row)
                              slow             delay every reply by --slow-ms
                              garbage          a junk line before every message
                              black-hole       everything as usual, but never answer mining.submit
                              notify-flood     --rate clean_jobs notifies a second (each job valid 5 s)
                              tiny-difficulty  set_difficulty --fault-difficulty, with a fresh job
                              raise-difficulty set_difficulty --raise-factor times higher, no new job,
                                               enforced at once on the jobs already sent
                              set-extranonce   mining.set_extranonce with a new extranonce1, no new job
                              junk             --rate lines a second that are not JSON
                              giant-line       a --giant-bytes line followed in the same write by a notify;
                                               sessions not resumable, first job a second late
                                               (--every-connection: after every authorize too)
                              reconnect        client.reconnect to itself with --wait-s (every connection)
  --fault-after S           healthy for S seconds first, then the fault (default 0)
  --slow-ms MS              reply delay for --fault slow (default 2000)
  --rate N                  lines a second for notify-flood (default 8000) and junk (default 4000)
  --fault-difficulty D      for tiny-difficulty (default 1e-300)
  --accept-every N          for reject-some (default 3)
  --raise-factor F          for raise-difficulty (default 4)
  --giant-bytes N           for giant-line (default 70000)
  --every-connection        for giant-line
  --wait-s S                for reconnect (default 600)
  --stats-interval S        log per-worker accepted difficulty every S seconds (default 60)
`;

export async function runPool(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '3333' },
      difficulty: { type: 'string', default: '1' },
      vardiff: { type: 'string' },
      'extranonce1-size': { type: 'string', default: '4' },
      'extranonce2-size': { type: 'string', default: '4' },
      'version-mask': { type: 'string', default: '1fffe000' },
      'notify-interval': { type: 'string', default: '30' },
      'block-interval': { type: 'string', default: '600' },
      'branch-depth': { type: 'string', default: '12' },
      fault: { type: 'string', default: 'none' },
      'slow-ms': { type: 'string', default: '2000' },
      'fault-after': { type: 'string', default: '0' },
      rate: { type: 'string' },
      'fault-difficulty': { type: 'string', default: '1e-300' },
      'accept-every': { type: 'string', default: '3' },
      'raise-factor': { type: 'string', default: '4' },
      'giant-bytes': { type: 'string', default: '70000' },
      'every-connection': { type: 'boolean', default: false },
      'wait-s': { type: 'string', default: '600' },
      'stats-interval': { type: 'string', default: '60' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let pool: TestPool;
  let statsEvery: number;
  let fault: Fault;
  let faultAfterMs: number;
  const log = createLogger({ pretty: process.stdout.isTTY === true }).child({ component: 'testpool' });
  try {
    statsEvery = numberArg('stats-interval', values['stats-interval'], 1, 86400) * 1000;
    const difficulty = numberArg('difficulty', values.difficulty, 1e-12, 1e15);
    pool = new TestPool({
      host: values.host,
      port: numberArg('port', values.port, 0, 65535),
      difficulty,
      vardiff: values.vardiff
        ? {
            sharesPerMinute: numberArg('vardiff', values.vardiff, 0.1, 10000),
            minDifficulty: 1e-9,
            maxDifficulty: 1e15,
            retargetS: 30,
          }
        : undefined,
      extranonce1Size: numberArg('extranonce1-size', values['extranonce1-size'], 1, 16),
      extranonce2Size: numberArg('extranonce2-size', values['extranonce2-size'], 1, 16),
      versionMask: Number.parseInt(values['version-mask'], 16) >>> 0,
      notifyIntervalMs: numberArg('notify-interval', values['notify-interval'], 0.1, 86400) * 1000,
      newBlockIntervalMs: numberArg('block-interval', values['block-interval'], 0.1, 864000) * 1000,
      branchDepth: numberArg('branch-depth', values['branch-depth'], 0, 32),
      log,
    });
    fault = parseFault(values);
    faultAfterMs = numberArg('fault-after', values['fault-after'], 0, 86400) * 1000;
  } catch (err) {
    process.stderr.write(`asicd pool: ${(err as Error).message}\n`);
    return 2;
  }
  await pool.start();
  log.info({ url: pool.url }, 'test pool listening');
  const faultTimer = setTimeout(() => {
    pool.setFault(fault);
    if (fault.kind !== 'none') log.warn({ fault }, 'fault mode on');
  }, faultAfterMs);
  const timer = setInterval(() => {
    for (const [worker, w] of pool.stats) {
      log.info(
        {
          worker,
          accepted: w.accepted,
          rejected: w.rejected,
          acceptedDifficulty: w.acceptedDifficulty,
          hashrateHs: pool.acceptedRate(600000, worker) * 2 ** 32,
          rejects: w.rejects,
        },
        'worker stats (10 min)',
      );
    }
  }, statsEvery);
  await new Promise<void>((res) => {
    process.once('SIGINT', res);
    process.once('SIGTERM', res);
  });
  clearInterval(timer);
  clearTimeout(faultTimer);
  await pool.stop();
  return 0;
}

function parseFault(v: Record<string, string | boolean | undefined>): Fault {
  const kind = String(v.fault);
  const num = (name: string, min: number, max: number, dflt?: string) =>
    numberArg(name, (v[name] as string | undefined) ?? dflt ?? '', min, max);
  switch (kind) {
    case 'none':
    case 'stall':
    case 'reject':
    case 'garbage':
    case 'black-hole':
    case 'set-extranonce':
      return { kind };
    case 'slow':
      return { kind, delayMs: num('slow-ms', 0, 600000) };
    case 'notify-flood':
      return { kind, perS: num('rate', 1, 100000, '8000') };
    case 'junk':
      return { kind, perS: num('rate', 1, 100000, '4000') };
    case 'tiny-difficulty':
      return { kind, difficulty: num('fault-difficulty', Number.MIN_VALUE, 1e15) };
    case 'giant-line':
      return { kind, bytes: num('giant-bytes', 1, 64 * 1024 * 1024), everyConnection: v['every-connection'] === true };
    case 'reconnect':
      return { kind, waitS: num('wait-s', 0, 86400) };
    case 'reject-some':
      return { kind, acceptEvery: num('accept-every', 1, 1_000_000) };
    case 'raise-difficulty':
      return { kind, factor: num('raise-factor', 1, 1e6) };
    default:
      throw new RangeError(`--fault: expected one of ${FAULT_KINDS.join(', ')}, got "${kind}"`);
  }
}
