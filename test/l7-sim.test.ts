import { once } from 'node:events';
import t from 'tap';
import { HwmonFans } from '../src/device/fans.js';
import { ChainLink } from '../src/device/maijie-l7/chain-link.js';
import { McuClient } from '../src/device/maijie-l7/mcu.js';
import { FAULT_BITS, REG } from '../src/device/maijie-l7/registers.js';
import { openChainTransport, openMcuTransport } from '../src/device/transport/index.js';
import type { ByteTransport } from '../src/device/transport/types.js';
import { Simulator } from '../src/sim/board/simulator.js';
import { memoryLogger } from './helpers/log.js';
import { tempDir } from './helpers/proc.js';
import { SIM_JOB } from './helpers/sim-job.js';

const JOB = SIM_JOB;

async function withSim(
  opts: Partial<ConstructorParameters<typeof Simulator>[0]>,
  body: (sim: Simulator) => Promise<void>,
): Promise<void> {
  const sim = new Simulator({
    boards: 1,
    chips: 76,
    seed: 1,
    scaleShift: 30,
    link: 'pty',
    dir: tempDir('asicd-sim-'),
    fans: 4,
    controlPort: 0,
    ...opts,
  });
  await sim.start();
  try {
    await body(sim);
  } finally {
    await sim.stop();
  }
}

async function bringUp(path: string, spi: string, expected = 76) {
  const { log, lines } = memoryLogger();
  const uart = openChainTransport(path);
  await uart.open();
  const mcu = new McuClient(openMcuTransport(spi), log);
  await mcu.transport.open();
  await mcu.setPower(true);
  await new Promise((r) => setTimeout(r, 80));
  const link = new ChainLink(uart, log);
  const e = await link.enumerate(expected, 0x1fffe000, 6);
  return { uart, mcu, link, e, lines };
}

async function control(sim: Simulator, body: unknown): Promise<{ status: number; json: unknown }> {
  const r = await fetch(`${sim.controlUrl}/fault`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

t.test('3 × 76 chips enumerate through the real serialport over socat ptys', async (t) => {
  await withSim({ boards: 3 }, async (sim) => {
    for (const b of sim.info()) {
      t.match(b.uart, /board\d-uart$/, 'a pty path');
      const { uart, mcu, link, e } = await bringUp(b.uart, b.spi);
      t.equal(e.found, 76, `board ${b.index}: 76 chips`);
      t.equal(e.brokenAt, undefined);
      t.equal(e.interval, 3);
      t.same(e.addresses.slice(0, 3), [0, 3, 6]);
      const hashInfo = await link.read(e.addresses[10], REG.HASH_INFO);
      t.equal(hashInfo >>> 16, 894, 'cores');
      t.equal(hashInfo & 0xff, 30, 'scale shift');
      await link.rampFrequency(e.addresses, 50, 400, 0);
      const oracle = sim.oracle().boards[b.index];
      t.ok(
        oracle.chips.every((c) => Math.abs(c.freqMHz - 400) < 1),
        'every chip at 400 MHz',
      );
      await uart.close();
      await mcu.transport.close();
    }
  });
});

t.test('chips hash for real: nonces arrive at the ticket rate, and NONCE_COUNT matches', async (t) => {
  await withSim({ chips: 8, link: 'tcp' }, async (sim) => {
    const { uart, mcu, link, e } = await bringUp(sim.info()[0].uart, sim.info()[0].spi, 8);
    await link.rampFrequency(e.addresses, 50, 400, 0);
    const got: number[] = [];
    link.onNonce = (n) => got.push(n.chip);
    link.sendJob(JOB);
    await new Promise((r) => setTimeout(r, 2000));
    // 8 chips × 400e6 × 894 / 2^30 H/s / 2^6 ≈ 41 nonces/s
    t.ok(got.length > 40 && got.length < 160, `${got.length} nonces in 2 s`);
    t.ok(new Set(got).size === 8, 'every chip found some');
    // the chips go on hashing while their counters are read one by one: every nonce received before the first read
    // is counted, and what the counters hold beyond those received by the last read is only what is in flight
    const before = got.length;
    let sum = 0;
    for (const a of e.addresses) sum += await link.read(a, REG.NONCE_COUNT);
    const after = got.length;
    t.ok(sum >= before && sum - after < 20, `NONCE_COUNT ${sum} vs ${before}–${after} received`);
    await uart.close();
    await mcu.transport.close();
  });
});

t.test('a chain broken at chip k is found at k', async (t) => {
  await withSim({}, async (sim) => {
    const c = await control(sim, { kind: 'broken-chain', board: 0, at: 41 });
    t.equal(c.status, 200);
    const { uart, mcu, e, lines } = await bringUp(sim.info()[0].uart, sim.info()[0].spi);
    t.equal(e.found, 41);
    t.equal(e.brokenAt, 41);
    t.ok(lines().some((l) => /chain broken at chip 41/.test(String(l.msg))));
    await uart.close();
    await mcu.transport.close();
  });
});

t.test('noise on the link: CRC errors counted, later frames decoded, nothing crashes', async (t) => {
  await withSim({ chips: 16 }, async (sim) => {
    const { uart, mcu, link, e } = await bringUp(sim.info()[0].uart, sim.info()[0].spi, 16);
    await link.rampFrequency(e.addresses, 50, 500, 0);
    t.equal((await control(sim, { kind: 'uart-noise', board: 0, rate: 0.001 })).status, 200);
    let nonces = 0;
    link.onNonce = () => nonces++;
    const end = Date.now() + 4000;
    while (Date.now() < end) {
      link.sendJob({ ...JOB, jobId: ((JOB.jobId + 8) & 0x78) as number });
      await new Promise((r) => setTimeout(r, 500));
    }
    t.ok(nonces > 100, `${nonces} nonces decoded through the noise`);
    // 11-byte frames at 1e-3 per byte: ~1.1 % corrupted
    t.ok(link.counters.crcErrors > 0, `${link.counters.crcErrors} CRC errors counted`);
    await control(sim, { kind: 'uart-noise', board: 0, rate: 0 });
    const id = await link.read(e.addresses[3], REG.CHIP_ID);
    t.equal(id >>> 16, 0x4c37, 'register reads work again');
    await uart.close();
    await mcu.transport.close();
  });
});

t.test('a board unplugged and replugged: the owner gets the events and reopens', async (t) => {
  for (const link of ['pty', 'tcp'] as const) {
    await withSim({ chips: 4, link }, async (sim) => {
      const info = sim.info()[0];
      const { uart, mcu, e } = await bringUp(info.uart, info.spi, 4);
      t.equal(e.found, 4);
      const lostUart = once(uart as ByteTransport, 'lost');
      const lostMcu = once(mcu.transport, 'lost');
      t.equal((await control(sim, { kind: 'unplug', board: 0 })).status, 200);
      await lostUart;
      await lostMcu;
      t.notOk(uart.isOpen, `${link}: uart lost`);
      if (link === 'pty') await t.rejects(uart.open(), `${link}: cannot reopen while unplugged`);
      else {
        // an unplugged tcp board keeps its port (as ser2net does) and drops every connection at once
        const dropped = once(uart as ByteTransport, 'lost');
        // refused outright is as good as dropped
        await uart.open().then(
          () => Promise.race([dropped, new Promise((r) => setTimeout(r, 5000))]),
          () => undefined,
        );
        t.notOk(uart.isOpen, `${link}: a reopen while unplugged is dropped`);
      }
      await control(sim, { kind: 'replug', board: 0 });
      await uart.open();
      await mcu.transport.open();
      await mcu.setPower(true);
      await new Promise((r) => setTimeout(r, 80));
      const again = new ChainLink(uart, memoryLogger().log);
      t.equal((await again.enumerate(4, 0, 0)).found, 4, `${link}: chips back after replug`);
      await uart.close();
      await mcu.transport.close();
    });
  }
});

t.test('MCU: watchdog trips when the host goes silent; faults, voltage range, LED', async (t) => {
  await withSim({ chips: 4, link: 'tcp' }, async (sim) => {
    const { uart, mcu } = await bringUp(sim.info()[0].uart, sim.info()[0].spi, 4);
    t.equal(await mcu.power(), true);
    await mcu.setWatchdog(1);
    await new Promise((r) => setTimeout(r, 1800));
    t.equal(sim.oracle().boards[0].power, false, 'board powered off by its watchdog');
    t.equal((await mcu.faults()) & FAULT_BITS.WATCHDOG, FAULT_BITS.WATCHDOG);
    await mcu.clearFaults();
    t.equal(await mcu.faults(), 0);
    await t.rejects(mcu.setVoltage(2000), { code: 'ERANGE' }, 'voltage outside EEPROM range refused');
    await mcu.setLed(2);
    t.equal(sim.oracle().boards[0].faults.overTemp, false);
    const temps = await mcu.temps();
    t.equal(temps.chipsC.length, 4);
    t.ok(temps.inletC > 20 && temps.inletC < 40);
    await uart.close();
    await mcu.transport.close();
  });
});

t.test('fans through hwmon: RPM follows PWM; a stuck fan reads 0', async (t) => {
  await withSim({ chips: 2, link: 'tcp' }, async (sim) => {
    const fans = new HwmonFans(sim.hwmonDir, 4);
    await fans.setAll(128);
    await new Promise((r) => setTimeout(r, 2500));
    const half = await fans.readAll();
    t.ok(
      half.every((f) => f.pwm === 128 && f.rpm > 2000 && f.rpm < 3200),
      `rpm at pwm 128: ${half.map((f) => f.rpm)}`,
    );
    await control(sim, { kind: 'stuck-fan', fan: 2 });
    await new Promise((r) => setTimeout(r, 3000));
    t.ok((await fans.rpm(2)) < 500, 'stuck fan spins down');
    t.ok((await fans.rpm(1)) > 2000, 'others keep spinning');
  });
});

t.test('the control endpoint rejects bad fault requests and serves the oracle', async (t) => {
  await withSim({ chips: 4, link: 'tcp' }, async (sim) => {
    t.equal((await control(sim, { kind: 'nope' })).status, 400);
    t.equal((await control(sim, { kind: 'dead-chip', board: 9, chip: 1 })).status, 400);
    t.equal((await control(sim, { kind: 'uart-noise', board: 0, rate: 7 })).status, 400);
    t.equal((await control(sim, { kind: 'reply-delay', board: 0, ms: -5 })).status, 400);
    t.equal((await control(sim, 'not an object')).status, 400);
    const o = (await (await fetch(`${sim.controlUrl}/oracle`)).json()) as {
      boards: { chips: { maxStableMHz: number }[] }[];
    };
    t.equal(o.boards[0].chips.length, 4);
    t.ok(o.boards[0].chips.every((c) => c.maxStableMHz > 300 && c.maxStableMHz < 800));
    const best = (await (await fetch(`${sim.controlUrl}/oracle/best?board=0&power_w=30`)).json()) as { powerW: number };
    t.ok(best.powerW <= 30.1, 'best setting within the power target');
  });
});
