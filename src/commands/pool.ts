import { parseArgs } from 'node:util';
import { TestPool } from '../sim/pool/server.js';
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
  --fault KIND              none | stall | reject | slow | garbage (default none)
  --slow-ms MS              reply delay for --fault slow (default 2000)
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
    const fault = values.fault;
    if (fault === 'slow') pool.setFault({ kind: 'slow', delayMs: numberArg('slow-ms', values['slow-ms'], 0, 600000) });
    else if (fault === 'stall' || fault === 'reject' || fault === 'garbage' || fault === 'none')
      pool.setFault({ kind: fault });
    else throw new RangeError(`--fault: expected none, stall, reject, slow or garbage, got "${fault}"`);
  } catch (err) {
    process.stderr.write(`asicd pool: ${(err as Error).message}\n`);
    return 2;
  }
  await pool.start();
  log.info({ url: pool.url }, 'test pool listening');
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
  await pool.stop();
  return 0;
}
