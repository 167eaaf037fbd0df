// The arm64 release tarball on an arm64 Node 20 under qemu-user emulation (npm run test:arm, which builds the
// tarball and fetches the node binary): it holds no code for another architecture, and the daemon from it opens the
// simulator's pseudo-terminals through its own serialport binding, mines for 20 s, and powers the boards off on
// SIGTERM. Judged by the pool's accepted shares and the simulator's oracle.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import t from 'tap';
import { Simulator } from '../../src/sim/board/simulator.js';
import { simMinerConfig } from '../../src/sim/miner-config.js';
import { TestPool } from '../../src/sim/pool/server.js';
import { freePort } from '../helpers/daemon.js';
import { requireTool, spawnProcess, tempDir } from '../helpers/proc.js';
import { sleep, until } from '../helpers/rig.js';

const tarball = process.env.TEST_ARM_TARBALL ?? '';
const armNode = process.env.TEST_ARM_NODE ?? '';
const sysroot = process.env.TEST_ARM_SYSROOT ?? '/usr/aarch64-linux-gnu';
if (!tarball || !armNode) throw new Error('run through npm run test:arm (it sets TEST_ARM_TARBALL and TEST_ARM_NODE)');
requireTool('qemu-aarch64-static', 'qemu-user-static');
requireTool('socat', 'socat', ['-V']);

const EM_X86_64 = 0x3e;
const EM_AARCH64 = 0xb7;

/** e_machine of every ELF file under `dir`. */
function elfMachines(dir: string, top = dir, out = new Map<string, number>()): Map<string, number> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) elfMachines(p, top, out);
    else if (e.isFile() && statSync(p).size > 20) {
      const fd = openSync(p, 'r');
      const head = Buffer.alloc(20);
      readSync(fd, head, 0, 20, 0);
      closeSync(fd);
      if (head.readUInt32BE(0) === 0x7f454c46) out.set(p.slice(top.length), head.readUInt16LE(18));
    }
  }
  return out;
}

const dir = tempDir('asicd-arm-');
const unpack = spawnSync('tar', ['-xzf', tarball, '-C', dir]);
if (unpack.status !== 0) throw new Error(`cannot unpack ${tarball}`);
const rel = join(dir, 'asicd');

t.test('the arm64 tarball holds arm64 native code only', async (t) => {
  const elves = elfMachines(rel);
  t.ok(elves.size > 0, `${elves.size} native files`);
  for (const [file, machine] of elves) t.equal(machine, EM_AARCH64, `${file} is aarch64`);
  t.notOk([...elves.values()].includes(EM_X86_64), 'no x86-64 code');
  t.ok(
    [...elves.keys()].some((f) => f.includes('@serialport/bindings-cpp/prebuilds/linux-arm64/')),
    'serialport binding',
  );
  t.ok(
    [...elves.keys()].some((f) => f.endsWith('/spi-device/build/Release/spi.node')),
    "spi-device's binding (board MCUs over SPI), cross-compiled",
  );
});

t.test("spi-device's binding loads in the arm64 Node and reaches the kernel", async (t) => {
  // no spidev here: opening one that is not there must fail with the kernel's ENOENT, not a missing binding
  const script = `const spi = require(${JSON.stringify(join(rel, 'node_modules/spi-device'))});
try { spi.openSync(9, 9); console.log('opened'); } catch (err) { console.log(typeof spi.openSync, err.code); }`;
  const r = spawnSync('qemu-aarch64-static', ['-L', sysroot, armNode, '-e', script], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.trim(), 'function ENOENT', `loaded; /dev/spidev9.9 absent: ${r.stdout.trim()} ${r.stderr}`);
});

t.test('the daemon from the tarball mines on the simulator for 20 s under qemu-aarch64', async (t) => {
  const version = spawnSync(
    'qemu-aarch64-static',
    ['-L', sysroot, armNode, '-p', 'process.arch + " " + process.version'],
    {
      encoding: 'utf8',
    },
  );
  t.match(version.stdout, /^arm64 v20\./, `node under emulation: ${version.stdout.trim()} ${version.stderr}`);

  const work = tempDir('asicd-armsim-');
  const sim = new Simulator({
    boards: 2,
    chips: 8,
    seed: 5,
    scaleShift: 27,
    link: 'pty',
    dir: work,
    fans: 2,
    controlPort: 0,
  });
  await sim.start();
  t.teardown(() => sim.stop());
  const pool = new TestPool({ difficulty: 2e-6 });
  await pool.start();
  t.teardown(() => pool.stop());
  const apiPort = await freePort();
  const file = join(work, 'asicd.toml');
  writeFileSync(
    file,
    stringify(
      simMinerConfig({
        dir: work,
        boards: sim.info(),
        hwmon: sim.hwmonDir,
        fans: 2,
        chips: 8,
        pool: { url: pool.url, user: 'arm.worker' },
        extra: { log: { level: 'info', stats_interval_s: 5 }, api: { port: apiPort, cgminer_port: await freePort() } },
      }),
    ),
  );
  const d = spawnProcess('qemu-aarch64-static', [
    '-L',
    sysroot,
    armNode,
    join(rel, 'bin/asicd.js'),
    'run',
    '--config',
    file,
  ]);
  const alive = () => {
    if (d.child.exitCode !== null)
      throw new Error(`the daemon exited ${d.child.exitCode}:\n${d.stdout()}\n${d.stderr()}`);
    return true;
  };
  await until(
    () => alive() && pool.workerStats('arm.worker').accepted > 0,
    300_000,
    'a first share from the arm64 daemon',
  );
  const first = pool.workerStats('arm.worker').accepted;
  await sleep(20_000);
  const shares = pool.workerStats('arm.worker').accepted - first;
  t.ok(shares > 0, `${shares} more shares accepted in 20 s of mining under emulation`);
  const summary = (await (await fetch(`http://127.0.0.1:${apiPort}/api/v1/summary`)).json()) as { accepted: number };
  t.ok(summary.accepted >= first + shares - 2, `the daemon counts its shares too (${summary.accepted})`);
  t.ok(
    sim.oracle().boards.every((b) => b.power),
    'boards powered while mining',
  );
  d.child.kill('SIGTERM');
  const { code } = await d.exit;
  t.equal(code, 0, d.stderr());
  t.ok(
    sim.oracle().boards.every((b) => !b.power),
    'boards powered off on SIGTERM (oracle)',
  );
});
