// A stopped chain controller leaves nothing behind: no link that finished opening after stop(), no bring-up retry.
// Judged by the simulator: after stop() no connection to the board stays open and none is made later.
import t, { type Test } from 'tap';
import { ChainController } from '../src/chain/controller.js';
import { validateConfig } from '../src/config/load.js';
import { PoolManager } from '../src/pool/manager/manager.js';
import { Simulator } from '../src/sim/board/simulator.js';
import { memoryLogger } from './helpers/log.js';
import { tempDir } from './helpers/proc.js';
import { sleep, until } from './helpers/rig.js';

async function rig(t: Test) {
  const dir = tempDir('asicd-chainstop-');
  const sim = new Simulator({
    boards: 1,
    chips: 4,
    seed: 1,
    scaleShift: 27,
    link: 'tcp',
    dir,
    fans: 1,
    controlPort: 0,
  });
  await sim.start();
  t.teardown(() => sim.stop());
  const config = validateConfig(
    {
      daemon: { state_dir: `${dir}/state`, lock_dir: `${dir}/lock` },
      // no pool is reached: the board's bring-up does not need one
      pools: [{ url: 'stratum+tcp://127.0.0.1:1', user: 'w' }],
      chains: sim.info().map((b) => ({ uart: b.uart, spi: b.spi, chips: 4, frequency_mhz: 400 })),
      fans: { hwmon: sim.hwmonDir, count: 1 },
    },
    'chain-stop',
  );
  const { log } = memoryLogger('warn');
  const pools = new PoolManager(config.pool, config.pools, log);
  const board = sim.boards[0];
  // connections to the board's UART and MCU endpoints, counted by the simulator
  const links = { open: 0, opened: 0 };
  for (const ep of [board.uart, board.mcu]) {
    ep.on('connect', () => {
      links.open++;
      links.opened++;
    });
    ep.on('disconnect', () => links.open--);
  }
  const chain = new ChainController(0, config.chains[0], 1, config.thermal, pools, log);
  t.teardown(() => chain.stop());
  return { sim, chain, links };
}

t.test('stop() while the links are still opening closes them once they open', async (t) => {
  const { sim, chain, links } = await rig(t);
  await chain.start();
  // at once: the TCP connections to the board are still being made
  await chain.stop();
  t.equal(chain.state, 'stopped');
  // the old controller kept both links open for good (the process could not exit)
  await until(
    () => links.opened > 0 && links.open === 0,
    10_000,
    'the links the stopped controller opened closed',
  ).catch((err: Error) => t.fail(`${err.message}: ${links.open} still open of ${links.opened} opened`));
  t.equal(links.open, 0, 'no link left open');
  t.equal(sim.oracle().boards[0].power, false, 'board off');
});

t.test('stop() after a failed bring-up cancels the retry', async (t) => {
  const { sim, chain, links } = await rig(t);
  // no chip answers: bring-up fails and a retry is scheduled for 1 s later
  await sim.fault({ kind: 'broken-chain', board: 0, at: 0 });
  await chain.start();
  await until(() => chain.state === 'lost', 20_000, 'bring-up failed');
  await chain.stop();
  await until(() => links.open === 0, 10_000, 'links closed');
  const opened = links.opened;
  // the retry would have reconnected after 1 s
  await sleep(3000);
  t.equal(links.opened, opened, 'no connection after stop()');
  t.equal(chain.state, 'stopped');
  t.equal(sim.oracle().boards[0].power, false, 'board off');
});
