import { join } from 'node:path';
import t from 'tap';
import { buildComponents } from '../src/components.js';
import { Daemon } from '../src/daemon.js';
import { LockError } from '../src/util/lock.js';
import { startDaemon } from './helpers/daemon.js';
import { memoryLogger } from './helpers/log.js';
import { sleep, until } from './helpers/rig.js';

// A second daemon given another lock folder must still not drive boards the first one drives.

t.test('a second daemon with a different lock_dir is refused the boards; the first keeps mining', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.stop());
  await until(() => d.pool.workerStats('api.worker').accepted > 0, 20_000, 'mining');
  const running = d.daemon.store.running;
  const other = {
    ...running,
    daemon: { state_dir: join(d.dir, 'state2'), lock_dir: join(d.dir, 'lock2') },
    api: { ...running.api, enabled: false, cgminer_enabled: false },
  };
  const { log } = memoryLogger('warn');
  const second = new Daemon(other, undefined, log, buildComponents);
  const err = await second.start().then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof LockError, `the second daemon is refused: ${String(err)}`);
  await second.stop('refused');
  const before = d.sim.oracle().boards.map((b) => b.power);
  await sleep(1500);
  t.same(
    d.sim.oracle().boards.map((b) => b.power),
    before,
    'boards untouched',
  );
  t.ok(
    d.api.miner.chains.every((c) => c.state === 'mining'),
    'all boards mining',
  );
});
