import { once } from 'node:events';
import net from 'node:net';
import t from 'tap';
import { ChainLink } from '../src/device/maijie-l7/chain-link.js';
import { jobFrame, responseFrame } from '../src/device/maijie-l7/frames.js';
import { McuClient } from '../src/device/maijie-l7/mcu.js';
import { encodeMcuResponse, McuFrameParser } from '../src/device/maijie-l7/mcu-frames.js';
import { MCU_REG, REG } from '../src/device/maijie-l7/registers.js';
import { McuSpiTransport } from '../src/device/transport/spi.js';
import { TcpTransport } from '../src/device/transport/tcp.js';
import { Simulator } from '../src/sim/board/simulator.js';
import { memoryLogger } from './helpers/log.js';
import { tempDir } from './helpers/proc.js';

t.test('frames with a good CRC but impossible fields are counted and logged, never thrown', async (t) => {
  // a hand-made chain of 4 chips on a real TCP link that also sends impossible replies
  let addrs: number[] = [0, 0, 0, 0];
  const server = net.createServer((s) => {
    s.on('data', (d: Buffer) => {
      if (d[2] === 0x52 && d[5] === REG.CHIP_ID) {
        for (let i = 0; i < 4; i++)
          s.write(responseFrame({ kind: 'register', value: 0x4c370001, chip: addrs[i], reg: 0 }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sock = () => new Promise<net.Socket>((r) => server.once('connection', r));
  const { log, lines } = memoryLogger('warn');
  const tr = new TcpTransport(`tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  const conn = sock();
  await tr.open();
  const s = await conn;
  const link = new ChainLink(tr, log, { readTimeoutMs: 50, retries: 0 });
  // enumeration: first read answers from address 0, second from the new addresses
  const first = link.readAll(REG.CHIP_ID, 40);
  t.equal((await first).length, 4);
  addrs = [0, 64, 128, 192];
  link.addresses = new Set(addrs);
  let nonces = 0;
  link.onNonce = () => nonces++;
  s.write(responseFrame({ kind: 'register', value: 1, chip: 64, reg: 0x77 })); // unknown register
  s.write(responseFrame({ kind: 'nonce', nonce: 5, chip: 200, jobId: 8, core: 0, versionBits: 0 })); // beyond the chain
  s.write(responseFrame({ kind: 'register', value: 7, chip: 128, reg: REG.NONCE_COUNT })); // nobody asked
  s.write(responseFrame({ kind: 'nonce', nonce: 6, chip: 64, jobId: 8, core: 1, versionBits: 0 })); // fine
  await new Promise((r) => setTimeout(r, 100));
  t.equal(link.counters.impossibleFrames, 3);
  t.equal(nonces, 1, 'the good frame after them still arrives');
  const warned = lines().map((l) => String(l.msg));
  t.ok(warned.some((m) => /unknown register 0x77 from chip 64/.test(m)));
  t.ok(warned.some((m) => /chip address 200, beyond the chain/.test(m)));
  t.ok(
    lines().every((l) => l.path === tr.path),
    'logged with the board link',
  );
  await t.rejects(link.read(192, REG.PLL0), { code: 'ETIMEOUT' }, 'an unanswered read times out with a clear error');
  await tr.close();
  server.close();
});

t.test(
  'the simulated chips drop a job whose id is not a multiple of 8; the MCU answers bad requests with a status',
  async (t) => {
    const sim = new Simulator({
      boards: 1,
      chips: 4,
      seed: 1,
      scaleShift: 30,
      link: 'tcp',
      dir: tempDir(),
      fans: 1,
      controlPort: 0,
    });
    await sim.start();
    const info = sim.info()[0];
    const tr = new TcpTransport(info.uart);
    await tr.open();
    const { log } = memoryLogger('fatal');
    const mcu = new McuClient((await import('../src/device/transport/index.js')).openMcuTransport(info.spi), log, {
      retries: 0,
    });
    await mcu.transport.open();
    await mcu.setPower(true);
    await new Promise((r) => setTimeout(r, 80));
    const job = {
      jobId: 9,
      startNonce: 0,
      nbits: 0,
      ntime: 0,
      merkleRoot: Buffer.alloc(32),
      prevHash: Buffer.alloc(32),
      version: 0,
    };
    tr.write(jobFrame(job));
    await new Promise((r) => setTimeout(r, 100));
    t.equal(sim.oracle().boards[0].badFrames, 1, 'counted by the chips');
    await t.rejects(mcu.read(0x77), { code: 'ESTATUS', message: /unknown register/ });
    await t.rejects(mcu.write(MCU_REG.LED, Buffer.from([9])), { code: 'ERANGE' });
    t.equal(mcu.counters.badStatus, 2);
    await tr.close();
    await mcu.transport.close();
    await sim.stop();
  },
);

t.test('spidev transport: request, then header, then data (a stand-in for the kernel device)', async (t) => {
  // What cannot run here is /dev/spidev itself: a fake binding answers as an MCU would on the wire.
  let pending: Buffer = Buffer.alloc(0);
  let failNext = false;
  const parser = new McuFrameParser(0xa5, (f) => {
    const data =
      f.reg === MCU_REG.EEPROM
        ? Buffer.from([76, 2, 0x05, 0x14, 0x01, 0x90, 0x04, 0x7e, 0x05, 0xdc])
        : Buffer.from([1]);
    pending = encodeMcuResponse(0, f.reg, data);
  });
  const binding = () => ({
    open: (_bus: number, _dev: number, _o: unknown, cb: (e: Error | null) => void) => {
      setImmediate(() => cb(null));
      return {
        transfer(
          msg: { sendBuffer?: Buffer; receiveBuffer?: Buffer; byteLength: number }[],
          cb2: (e: Error | null, m: typeof msg) => void,
        ) {
          if (failNext) return setImmediate(() => cb2(new Error('EIO: device gone'), msg));
          const m = msg[0];
          if (m.sendBuffer && m.sendBuffer[0] === 0xa5) parser.push(m.sendBuffer);
          else if (m.receiveBuffer) {
            pending.copy(m.receiveBuffer, 0, 0, m.byteLength);
            pending = pending.subarray(m.byteLength);
          }
          setImmediate(() => cb2(null, msg));
        },
        close: (cb3: (e: Error | null) => void) => cb3(null),
      };
    },
  });
  const spi = new McuSpiTransport('/dev/spidev0.1', 1_000_000, binding);
  await spi.open();
  const mcu = new McuClient(spi, memoryLogger('fatal').log);
  t.same(await mcu.eeprom(), { chips: 76, bin: 2, factoryMv: 1300, factoryMHz: 400, minMv: 1150, maxMv: 1500 });
  t.equal(await mcu.power(), true);
  failNext = true;
  const lost = once(spi, 'lost');
  await t.rejects(mcu.power(), { code: 'ELOST' });
  await lost;
  t.notOk(spi.isOpen, 'a vanished device is an event, not a crash');
  t.throws(() => new McuSpiTransport('/dev/ttyS1'), { code: 'EPATH' });
});
